import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineActor } from '../runtime/actor-type.js';
import { saveIsolating } from '../runtime/isolating-commit.js';
import type { StateStore, StateWrite } from '../runtime/state-store.js';
import { ActorSystem } from '../runtime/system.js';

export interface PoisonedWritesHarness {
  /** A store for the whole suite (tests use their own actor types and shards). */
  open(): Promise<{ store: StateStore; close(): Promise<void> }>;
}

let run = 0;

/**
 * Issue 7 item 1: one write the store can never take, in a group-commit batch
 * of good ones. The good ones commit in that batch; the bad one fails fast
 * with the non-retryable `state_rejected`, is not retried, and is reported a
 * bounded number of times. Run against every `StateStore` adapter.
 */
export function poisonedWritesSuite(name: string, harness: PoisonedWritesHarness): void {
  describe(`poisoned writes: ${name}`, () => {
    let store: StateStore;
    let transactions: () => number;
    let close: () => Promise<void>;
    const tag = `${Date.now().toString(36)}${(run++).toString(36)}`;
    beforeAll(async () => {
      const opened = await harness.open();
      close = opened.close;
      // Counts every saveBatch call (a transaction begun, or refused before it began).
      let calls = 0;
      const inner = opened.store;
      store = Object.assign(Object.create(inner) as StateStore, {
        saveBatch: (ws: readonly StateWrite[]) => {
          calls++;
          return inner.saveBatch(ws);
        },
      });
      transactions = () => calls;
    });
    afterAll(async () => close?.());

    const Counter = defineActor({
      name: `pc${tag}`,
      initialState: (): { value: number; junk?: bigint } => ({ value: 0 }),
      handlers: {
        add: (ctx, msg: { by: number }) => {
          const value = ctx.state.value + msg.by;
          ctx.setState({ ...ctx.state, value });
          return value;
        },
        // A state JSON cannot hold: the adapter's JSON.stringify throws inside saveBatch.
        poison: (ctx) => {
          ctx.setState({ ...ctx.state, junk: 1n });
          return 'poisoned';
        },
        get: (ctx) => ctx.state.value,
      },
    });

    const system = () => {
      const reports: Array<{ err: unknown; ctx: Record<string, unknown> }> = [];
      const sys = new ActorSystem({
        store,
        defaultDeadlineMs: 10_000,
        onError: (err, ctx) => reports.push({ err, ctx }),
      }).register(Counter);
      return { sys, reports };
    };
    const outcome = (p: Promise<unknown>) =>
      p.then(
        (v) => ({ ok: true as const, v }),
        (e: { code?: string; retryable?: boolean }) => ({
          ok: false as const,
          code: e.code,
          retryable: e.retryable,
        }),
      );

    it('a state the store cannot take fails alone with state_rejected; the rest of its batch commits, unretried', async () => {
      const { sys, reports } = system();
      const ids = [...Array(40).keys()].map((i) => `good${i}`);
      // Activate everyone first, so the writes below meet in one batch.
      await Promise.all(ids.concat('bad').map((id) => sys.ref(Counter, id).ask({ type: 'get' })));
      const tx0 = transactions();
      const t0 = Date.now();
      const [bad, ...good] = await Promise.all([
        outcome(sys.ref(Counter, 'bad').ask({ type: 'poison' })),
        ...ids.map((id) => outcome(sys.ref(Counter, id).ask({ type: 'add', by: 2 }))),
      ]);
      const ms = Date.now() - t0;
      expect(bad).toEqual({ ok: false, code: 'state_rejected', retryable: false });
      expect(good.every((g) => g.ok && g.v === 2)).toBe(true);
      expect(ms).toBeLessThan(5_000); // not the 10 s deadline
      const st = sys.stats();
      expect(st.retries).toBe(0); // nobody was sent again
      expect(st.stateWritesRejected).toBe(1);
      expect(st.batchSplits).toBe(1);
      // One batch of 41, bisected: far fewer than one transaction per write.
      expect(transactions() - tx0).toBeLessThanOrEqual(1 + 2 * Math.ceil(Math.log2(41)));
      expect(reports.length).toBeLessThanOrEqual(2);
      // What committed is what was acknowledged; the poisoned actor kept its last committed state.
      await sys.stop();
      const again = system();
      expect(await again.sys.ref(Counter, 'good7').ask({ type: 'get' })).toBe(2);
      expect(await again.sys.ref(Counter, 'bad').ask({ type: 'get' })).toBe(0);
      await again.sys.stop();
    });

    it('an actor whose id the store cannot hold (lone surrogate, U+0000) fails fast with state_rejected, once', async () => {
      const { sys, reports } = system();
      const t0 = Date.now();
      const bad = ['\ud800', 'a\u0000b', 'x\udfff'];
      const good = [...Array(20).keys()].map((i) => `fine${i}`);
      const out = await Promise.all(
        [...bad, ...good].map((id) => outcome(sys.ref(Counter, id).ask({ type: 'add', by: 1 }))),
      );
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(out.slice(0, bad.length)).toEqual(
        bad.map(() => ({ ok: false, code: 'state_rejected', retryable: false })),
      );
      expect(out.slice(bad.length).every((g) => g.ok && g.v === 1)).toBe(true);
      expect(sys.stats().retries).toBe(0);
      expect(reports.length).toBeLessThanOrEqual(bad.length);
      await sys.stop();
    });

    it('several turns coalesced into one refused write: the good turns commit on retry, the bad one fails alone', async () => {
      const { sys } = system();
      const ref = sys.ref(Counter, 'mixed');
      await ref.ask({ type: 'get' });
      const all = await Promise.all([
        outcome(ref.ask({ type: 'add', by: 1 })),
        outcome(ref.ask({ type: 'add', by: 1 })),
        outcome(ref.ask({ type: 'poison' })),
        outcome(ref.ask({ type: 'add', by: 1 })),
        outcome(ref.ask({ type: 'add', by: 1 })),
      ]);
      const refused = all.filter((o) => !o.ok);
      expect(refused).toEqual([{ ok: false, code: 'state_rejected', retryable: false }]);
      expect(all[2]?.ok).toBe(false);
      expect(await ref.ask({ type: 'get' })).toBe(4);
      await sys.stop();
    });

    it('saveIsolating: a batch the store refuses whole (a name it cannot hold) commits every other write', async () => {
      const type = `iso${tag}`;
      const w = (id: string, shard: number): StateWrite => ({
        type,
        id,
        shard,
        epoch: 1,
        expectedVersion: 0,
        state: { id },
      });
      const writes = [...Array(30).keys()].map((i) => w(`w${i}`, 70_000 + i));
      writes.splice(17, 0, w('bad\u0000id', 70_100));
      await expect(store.saveBatch(writes)).rejects.toMatchObject({ code: 'state_rejected' });
      const counts = { splits: 0, extraTransactions: 0, isolated: 0 };
      const out = await saveIsolating(store, writes, counts);
      expect(out.map((o) => (o.ok ? o.version : o.error.code))).toEqual(
        writes.map((x) => (x.id === 'bad\u0000id' ? 'state_rejected' : 1)),
      );
      expect(counts).toMatchObject({ splits: 1, isolated: 1 });
      expect(counts.extraTransactions).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(31)));
      expect((await store.load(type, 'w29'))?.state).toEqual({ id: 'w29' });
    });

    it('saveIsolating: when the store itself fails, every write fails with its error (no split storm)', async () => {
      let calls = 0;
      const down = {
        saveBatch: async () => {
          calls++;
          throw Object.assign(new Error('connection terminated'), { code: 'ECONNRESET' });
        },
      };
      const writes = [...Array(64).keys()].map(
        (i): StateWrite => ({ type: 't', id: `d${i}`, shard: i, epoch: 1, expectedVersion: 0, state: {} }),
      );
      await expect(saveIsolating(down, writes)).rejects.toThrow('connection terminated');
      expect(calls).toBeLessThanOrEqual(3);
    });
  });
}
