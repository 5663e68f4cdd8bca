import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineActor } from '../runtime/actor-type.js';
import { uuidv7 } from '../runtime/idempotency-key.js';
import type { Placement, ShardLocation } from '../runtime/placement.js';
import { stableShard } from '../runtime/placement.js';
import type { StateStore } from '../runtime/state-store.js';
import { ActorSystem } from '../runtime/system.js';

export interface IdempotencyReplayHarness {
  /** A store for the whole suite (the suite uses its own actor type). */
  open(): Promise<{ store: StateStore; close(): Promise<void> }>;
}

let run = 0;

/** Everything local, at a fixed epoch: a second system with a higher epoch is "the node after a takeover". */
function owner(epoch: number): Placement {
  return {
    shardOf: (type, id) => stableShard(type, id, 64),
    locate: (): ShardLocation => ({ kind: 'local', epoch }),
    forward: () => Promise.reject(new Error('no remote nodes')),
  };
}

/** A tiny deterministic PRNG (the history is the same on every run). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Issue 8 item 5: a recorded history of keyed increments — more than 256
 * keys per actor, retries arriving late (hundreds of keys later), after
 * passivation and reactivation, and through a second system sharing the
 * store under a higher epoch (a takeover) — replayed, applies every key
 * exactly once; an expired key is refused with its own code.
 */
export function idempotencyReplaySuite(name: string, harness: IdempotencyReplayHarness): void {
  describe(`idempotency, replayed history: ${name}`, () => {
    let store: StateStore;
    let close: () => Promise<void>;
    const systems: ActorSystem[] = [];
    beforeAll(async () => {
      ({ store, close } = await harness.open());
    });
    afterAll(async () => {
      for (const s of systems) await s.stop().catch(() => {});
      await close?.();
    });

    const Counter = defineActor({
      name: `replay${Date.now().toString(36)}${run++}`,
      initialState: () => ({ n: 0 }),
      handlers: {
        inc: (ctx) => {
          ctx.setState({ n: ctx.state.n + 1 });
          return { id: ctx.id, n: ctx.state.n };
        },
        get: (ctx) => ctx.state.n,
      },
    });
    const system = (epoch: number) => {
      const s = new ActorSystem({
        store,
        placement: owner(epoch),
        idleMs: 1_000,
        sweepIntervalMs: 50,
        defaultDeadlineMs: 20_000,
        // Memory holds few keys: most retries must be answered from the store's key table.
        idempotency: { maxKeys: 32 },
      }).register(Counter);
      systems.push(s);
      return s;
    };

    it('applies every key of the history exactly once, replayed through passivation and a takeover', async () => {
      const actors = ['hot', 'warm', 'cold'];
      const perActor = { hot: 700, warm: 300, cold: 40 } as Record<string, number>;
      // The recorded history: every key once, in an interleaved order.
      const ops: Array<{ id: string; key: string }> = [];
      for (const id of actors)
        for (let i = 0; i < (perActor[id] as number); i++) ops.push({ id, key: `inc:${uuidv7()}` });
      const rand = rng(42);
      for (let i = ops.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [ops[i], ops[j]] = [ops[j] as (typeof ops)[0], ops[i] as (typeof ops)[0]];
      }
      const first = new Map<string, unknown>();
      const send = async (sys: ActorSystem, batch: typeof ops, record: boolean) => {
        const replies = await Promise.all(
          batch.map((o) => sys.ref(Counter, o.id).ask({ type: 'inc' }, { idempotencyKey: o.key })),
        );
        batch.forEach((o, i) => {
          if (record) first.set(o.key, replies[i]);
          else expect(replies[i]).toEqual(first.get(o.key));
        });
      };

      const a = system(1);
      // 1. The history, 100 operations at a time (they share group-commit batches).
      const half = Math.floor(ops.length / 2);
      for (let i = 0; i < half; i += 100) await send(a, ops.slice(i, Math.min(half, i + 100)), true);
      // 2. Late retries: the first 200 keys again, hundreds of keys later, mixed with new operations.
      let retried = 0;
      for (let i = half; i < ops.length; i += 100) {
        const retries = ops.slice((i - half) / 2, (i - half) / 2 + 50);
        retried += retries.length;
        await Promise.all([
          send(a, ops.slice(i, Math.min(ops.length, i + 100)), true),
          send(a, retries, false),
        ]);
      }
      expect(retried).toBeGreaterThan(250);
      expect(a.stats().dedupedReplies).toBe(retried); // each retry answered, none applied
      // 3. Passivation: every actor idles out, its memory of keys goes with it; retries after reactivation.
      const passivated = a.stats().passivated;
      const until = Date.now() + 15_000;
      while (a.stats().activations > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(a.stats().activations).toBe(0);
      expect(a.stats().passivated - passivated).toBeGreaterThanOrEqual(actors.length);
      const lookupsBefore = a.stats().keyLookups;
      await send(a, ops.slice(0, 400), false);
      expect(a.stats().keyLookups - lookupsBefore).toBeGreaterThan(0); // answered from the key table
      await a.stop();

      // 4. A takeover: another system, higher epoch, same store, replays the whole history.
      const b = system(2);
      for (let i = 0; i < ops.length; i += 200) await send(b, ops.slice(i, i + 200), false);
      for (const id of actors) expect(await b.ref(Counter, id).ask({ type: 'get' })).toBe(perActor[id]);
      // Every first reply was distinct: each key was applied once, at its own count.
      const seen = new Set([...first.values()].map((r) => JSON.stringify(r)));
      expect(seen.size).toBe(ops.length);
      // 5. The same history replayed once more, all at once: nothing changes.
      await send(b, ops, false);
      for (const id of actors) expect(await b.ref(Counter, id).ask({ type: 'get' })).toBe(perActor[id]);
      expect(b.stats().messagesHandled).toBeGreaterThan(0);
    }, 120_000);

    it('refuses a key older than the window with idempotency_key_expired, applying nothing', async () => {
      const s = new ActorSystem({ store, placement: owner(3), idempotency: { windowMs: 60_000 } }).register(
        Counter,
      );
      systems.push(s);
      const ref = s.ref(Counter, 'expiry');
      const err = await ref
        .ask({ type: 'inc' }, { idempotencyKey: `inc:${uuidv7(Date.now() - 61_000)}` })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'idempotency_key_expired', retryable: false });
      expect(await ref.ask({ type: 'get' })).toBe(0);
    });
  });
}
