import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineActor } from './actor-type.js';
import { ActorHandlerError, ShardNotOwned } from './errors.js';
import { uuidv7 } from './idempotency-key.js';
import { MemoryStateStore } from './memory-state-store.js';
import { type ActorEnvelope, type Placement, type ShardLocation, SingleNodePlacement } from './placement.js';
import { ActorSystem } from './system.js';

const Counter = defineActor({
  name: 'counter',
  initialState: () => ({ n: 0 }),
  handlers: {
    inc: (ctx) => {
      ctx.setState({ n: ctx.state.n + 1 });
      return ctx.state.n;
    },
    slowInc: async (ctx, m: { ms: number }) => {
      await new Promise((r) => setTimeout(r, m.ms));
      ctx.setState({ n: ctx.state.n + 1 });
      return ctx.state.n;
    },
    get: (ctx) => ctx.state.n,
  },
});

/** A placement whose answers the test sets by hand. */
class ScriptedPlacement implements Placement {
  where: ShardLocation = { kind: 'local', epoch: 1 };
  forwarded: Array<{ node: string; env: ActorEnvelope; deadline: number }> = [];
  onForward: (node: string, env: ActorEnvelope) => Promise<unknown> = () => Promise.resolve('remote-reply');
  shardOf(): number {
    return 3;
  }
  locate(): ShardLocation {
    return this.where;
  }
  forward(node: string, env: ActorEnvelope, deadline: number): Promise<unknown> {
    this.forwarded.push({ node, env, deadline });
    return this.onForward(node, env);
  }
}

describe('cluster hooks', () => {
  const systems: ActorSystem[] = [];
  const make = (placement: Placement, store = new MemoryStateStore()) => {
    const s = new ActorSystem({ store, placement, defaultDeadlineMs: 2_000 }).register(Counter);
    systems.push(s);
    return s;
  };
  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(systems.splice(0).map((s) => s.stop()));
  });

  it('SingleNodePlacement: every shard local at epoch 1; shardOf stable and within the shard count', () => {
    const p = new SingleNodePlacement(64);
    const s = p.shardOf('user', '42');
    expect(s).toBe(p.shardOf('user', '42'));
    expect(s).toBeGreaterThanOrEqual(0);
    expect(s).toBeLessThan(64);
    expect(p.locate(s)).toEqual({ kind: 'local', epoch: 1 });
    expect(new Set([...Array(200).keys()].map((i) => p.shardOf('user', `${i}`))).size).toBeGreaterThan(40);
  });

  it('forwards to a remote node a plain serializable envelope and returns its reply', async () => {
    const pl = new ScriptedPlacement();
    pl.where = { kind: 'remote', node: 'n2' };
    const sys = make(pl);
    const k = `inc:${uuidv7()}`;
    expect(await sys.ref(Counter, 'r').ask({ type: 'inc' }, { idempotencyKey: k, deadlineMs: 1_000 })).toBe(
      'remote-reply',
    );
    const f = pl.forwarded[0];
    expect(f?.node).toBe('n2');
    expect(JSON.parse(JSON.stringify(f?.env))).toEqual({
      type: 'counter',
      id: 'r',
      msg: { type: 'inc' },
      kind: 'ask',
      deadline: f?.deadline,
      idempotencyKey: k,
    });
    expect(sys.stats()).toMatchObject({ routedRemote: 1, routedLocal: 0, activations: 0 });
  });

  it('retries a moving shard with backoff until it lands, then delivers', async () => {
    vi.useFakeTimers();
    const pl = new ScriptedPlacement();
    pl.where = { kind: 'moving' };
    const sys = make(pl);
    const p = sys.ref(Counter, 'm').ask({ type: 'inc' });
    await vi.advanceTimersByTimeAsync(300);
    expect(sys.stats().retries).toBeGreaterThan(2);
    pl.where = { kind: 'local', epoch: 1 };
    await vi.advanceTimersByTimeAsync(300);
    expect(await p).toBe(1);
  });

  it('fails with actor_timeout (cause: shard_not_owned) if the shard is still moving at the deadline', async () => {
    vi.useFakeTimers();
    const pl = new ScriptedPlacement();
    pl.where = { kind: 'moving' };
    const p = make(pl)
      .ref(Counter, 'm')
      .ask({ type: 'inc' }, { deadlineMs: 500 })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(600);
    const err = await p;
    expect(err).toMatchObject({ code: 'actor_timeout' });
    expect((err as Error).cause).toMatchObject({ code: 'shard_not_owned' });
  });

  it('retries a forward that fails retryably (not owned, no responders); passes other errors through', async () => {
    vi.useFakeTimers();
    const pl = new ScriptedPlacement();
    pl.where = { kind: 'remote', node: 'n2' };
    let calls = 0;
    pl.onForward = () => {
      calls++;
      if (calls === 1) return Promise.reject(new ShardNotOwned(3));
      if (calls === 2)
        return Promise.reject(Object.assign(new Error('nobody'), { code: 'bus_no_responders' }));
      return Promise.resolve(calls);
    };
    const sys = make(pl);
    const p = sys.ref(Counter, 'f').ask({ type: 'get' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await p).toBe(3);
    pl.onForward = () =>
      Promise.reject(new ActorHandlerError('no', { handlerCode: 'forbidden', public: true }));
    const q = sys
      .ref(Counter, 'f')
      .ask({ type: 'get' })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    expect(await q).toMatchObject({ code: 'actor_handler_error', handlerCode: 'forbidden' });
    expect(calls).toBe(3);
  });

  it('deliverLocal serves envelopes from the bus and refuses shards not local here', async () => {
    const pl = new ScriptedPlacement();
    const sys = make(pl);
    const env: ActorEnvelope = {
      type: 'counter',
      id: 'b',
      msg: { type: 'inc' },
      kind: 'ask',
      deadline: Date.now() + 1_000,
    };
    expect(await sys.deliverLocal(env)).toBe(1);
    await sys.deliverLocal({ ...env, kind: 'tell' });
    expect(await sys.deliverLocal({ ...env, msg: { type: 'get' } })).toBe(2);
    pl.where = { kind: 'remote', node: 'n9' };
    await expect(sys.deliverLocal(env)).rejects.toMatchObject({ code: 'shard_not_owned', retryable: true });
    await expect(sys.deliverLocal({ ...env, deadline: Date.now() - 1 })).rejects.toMatchObject({
      code: 'actor_timeout',
    });
  });

  it('stopShard lets the running turn finish, saves, passivates, and refuses the shard until a newer epoch', async () => {
    const store = new MemoryStateStore();
    const pl = new ScriptedPlacement();
    const sys = make(pl, store);
    const c = sys.ref(Counter, 's');
    await c.ask({ type: 'inc' });
    const running = c.ask({ type: 'slowInc', ms: 30 });
    await vi.waitFor(() => expect(sys.stats().mailboxDepth).toBe(0), { interval: 1 });
    expect(sys.activeShards()).toEqual([3]);
    await sys.stopShard(3);
    expect(await running).toBe(2);
    expect(sys.activeShards()).toEqual([]);
    expect(((await store.load('counter', 's'))!.state as { state: unknown }).state).toEqual({ n: 2 });
    const env: ActorEnvelope = {
      type: 'counter',
      id: 's',
      msg: { type: 'get' },
      kind: 'ask',
      deadline: Date.now() + 500,
    };
    await expect(sys.deliverLocal(env)).rejects.toMatchObject({ code: 'shard_not_owned' });
    pl.where = { kind: 'local', epoch: 2 };
    expect(await sys.deliverLocal(env)).toBe(2);
  });

  it('a partitioned old owner cannot commit once the new owner fenced the shard', async () => {
    vi.useFakeTimers();
    const store = new MemoryStateStore();
    const oldView = new ScriptedPlacement(); // still believes it owns shard 3 at epoch 1
    const newView = new ScriptedPlacement();
    newView.where = { kind: 'local', epoch: 2 };
    const old = make(oldView, store);
    const next = make(newView, store);
    expect(await old.ref(Counter, 'x').ask({ type: 'inc' })).toBe(1);
    expect(await next.ref(Counter, 'x').ask({ type: 'inc' })).toBe(2);
    const p = old
      .ref(Counter, 'x')
      .ask({ type: 'inc' }, { deadlineMs: 1_000 })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(await p).toMatchObject({ code: 'actor_timeout' });
    expect(old.stats().stateWriteFailures).toBe(1);
    expect(((await store.load('counter', 'x'))!.state as { state: unknown }).state).toEqual({ n: 2 });
  });

  it('replaces an activation from an older epoch when the shard comes back under a newer one', async () => {
    const store = new MemoryStateStore();
    const pl = new ScriptedPlacement();
    const sys = make(pl, store);
    const c = sys.ref(Counter, 'e');
    expect(await c.ask({ type: 'inc' })).toBe(1);
    // Meanwhile another node owned the shard at epoch 2 and wrote this actor.
    await store.fence(3, 2);
    await store.save({
      type: 'counter',
      id: 'e',
      shard: 3,
      epoch: 2,
      expectedVersion: 1,
      state: { state: { n: 10 } },
    });
    pl.where = { kind: 'local', epoch: 3 };
    expect(await c.ask({ type: 'inc' })).toBe(11);
    expect(((await store.load('counter', 'e'))!.state as { state: unknown }).state).toEqual({ n: 11 });
  });
});
