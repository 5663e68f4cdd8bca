import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineActor } from './actor-type.js';
import { GroupCommit } from './group-commit.js';
import { uuidv7 } from './idempotency-key.js';
import { MemoryStateStore } from './memory-state-store.js';
import type { ActorEnvelope, Placement, ShardLocation } from './placement.js';
import { ActorSystem } from './system.js';

const Photo = defineActor({
  name: 'photo',
  initialState: () => ({ likes: 0 }),
  handlers: {
    like: (ctx) => {
      ctx.setState({ likes: ctx.state.likes + 1 });
      return { likes: ctx.state.likes };
    },
    get: (ctx) => ctx.state.likes,
  },
});
const Cache = defineActor({
  name: 'cache',
  persistence: 'passivation',
  initialState: () => ({ hits: 0 }),
  handlers: { hit: (ctx) => ctx.setState({ hits: ctx.state.hits + 1 }), get: (ctx) => ctx.state.hits },
});
const Presence = defineActor({
  name: 'presence',
  persistence: 'none',
  initialState: () => ({ on: false }),
  handlers: { set: (ctx, m: { on: boolean }) => ctx.setState({ on: m.on }), get: (ctx) => ctx.state.on },
});

const stored = async (store: MemoryStateStore, type: string, id: string) =>
  (await store.load(type, id))?.state as { state: unknown; replies?: unknown[] } | undefined;

describe('persistence', () => {
  const systems: ActorSystem[] = [];
  const make = (store: MemoryStateStore, extra: ConstructorParameters<typeof ActorSystem>[0] = {}) => {
    const s = new ActorSystem({ store, idleMs: 1_000, ...extra })
      .register(Photo)
      .register(Cache)
      .register(Presence);
    systems.push(s);
    return s;
  };
  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(systems.splice(0).map((s) => s.stop()));
  });

  it('acknowledges a state change only once it is in the store', async () => {
    const store = new MemoryStateStore();
    const p = make(store).ref(Photo, 'p');
    await p.ask({ type: 'like' });
    expect(await stored(store, 'photo', 'p')).toEqual({ state: { likes: 1 } });
  });

  it('group-commits a hot actor: 1 000 concurrent likes take a handful of transactions, every one acknowledged', async () => {
    const store = new MemoryStateStore();
    const p = make(store).ref(Photo, 'hot');
    await p.ask({ type: 'get' });
    const before = store.transactions;
    const replies = await Promise.all([...Array(1000)].map(() => p.ask({ type: 'like' })));
    const txs = store.transactions - before;
    expect(new Set(replies.map((r) => r.likes)).size).toBe(1000);
    expect(txs).toBeLessThanOrEqual(3);
    expect(await stored(store, 'photo', 'hot')).toEqual({ state: { likes: 1000 } });
  });

  it('group-commits many actors together: writes arriving during a commit share the next transaction', async () => {
    const store = new MemoryStateStore();
    const sys = make(store);
    await Promise.all([...Array(200).keys()].map((i) => sys.ref(Photo, `m${i}`).ask({ type: 'get' })));
    const before = store.transactions;
    await Promise.all([...Array(200).keys()].map((i) => sys.ref(Photo, `m${i}`).ask({ type: 'like' })));
    expect(store.transactions - before).toBeLessThanOrEqual(2);
  });

  it('GroupCommit: N concurrent submits take far fewer than N transactions; a failed batch fails each member', async () => {
    const seen: number[][] = [];
    let fail = false;
    const gc = new GroupCommit<number, number>(async (items) => {
      seen.push(items);
      await new Promise((r) => setTimeout(r, 5));
      if (fail) throw new Error('tx failed');
      return items.map((x) => x * 2);
    });
    const first = gc.submit(0);
    await Promise.resolve();
    await Promise.resolve(); // batch [0] is in flight now
    const rest = [...Array(100).keys()].map((i) => gc.submit(i + 1));
    expect(await Promise.all([first, ...rest])).toEqual([...Array(101).keys()].map((x) => x * 2));
    expect(seen.map((b) => b.length)).toEqual([1, 100]);
    expect(gc.counts).toMatchObject({ transactions: 2, items: 101 });
    fail = true;
    const failing = await Promise.allSettled([gc.submit(1), gc.submit(2)]);
    expect(failing.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(gc.counts.failedTransactions).toBe(1);
  });

  it('GroupCommit: maxBatch splits a burst into several transactions', async () => {
    const sizes: number[] = [];
    const commit = async (items: number[]) => {
      sizes.push(items.length);
      return items;
    };
    const gc = new GroupCommit<number, number>(commit, { maxBatch: 40 });
    await Promise.all([...Array(100).keys()].map((i) => gc.submit(i)));
    expect(sizes).toEqual([40, 40, 20]);
  });

  it("'passivation' types save only when they passivate; 'none' types never touch the store", async () => {
    vi.useFakeTimers();
    const store = new MemoryStateStore();
    const sys = make(store);
    await sys.ref(Cache, 'c').ask({ type: 'hit' });
    await sys.ref(Cache, 'c').ask({ type: 'hit' });
    await sys.ref(Presence, 'u').ask({ type: 'set', on: true });
    expect(await stored(store, 'cache', 'c')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_500);
    expect(sys.stats().passivated).toBe(2);
    expect(await stored(store, 'cache', 'c')).toEqual({ state: { hits: 2 } });
    expect(await stored(store, 'presence', 'u')).toBeUndefined();
    expect(await sys.ref(Presence, 'u').ask({ type: 'get' })).toBe(false);
  });
});

describe('idempotency', () => {
  const systems: ActorSystem[] = [];
  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(systems.splice(0).map((s) => s.stop()));
  });
  const make = (store: MemoryStateStore, placement?: Placement, windowMs = 60_000, maxKeys = 100) => {
    const s = new ActorSystem({
      store,
      idleMs: 1_000,
      idempotency: { windowMs, maxKeys },
      ...(placement ? { placement } : {}),
    });
    systems.push(s.register(Photo));
    return s;
  };

  it('answers a retry with the same key with the first reply and applies it once, even when sent concurrently', async () => {
    const sys = make(new MemoryStateStore());
    const p = sys.ref(Photo, 'i');
    const k1 = `like:${uuidv7()}`;
    const [a, b] = await Promise.all([
      p.ask({ type: 'like' }, { idempotencyKey: k1 }),
      p.ask({ type: 'like' }, { idempotencyKey: k1 }),
    ]);
    expect(a).toEqual({ likes: 1 });
    expect(b).toEqual({ likes: 1 });
    expect(await p.ask({ type: 'like' }, { idempotencyKey: `like:${uuidv7()}` })).toEqual({ likes: 2 });
    expect(await p.ask({ type: 'like' }, { idempotencyKey: k1 })).toEqual({ likes: 1 });
    expect(await p.ask({ type: 'get' })).toBe(2);
    expect(sys.stats().dedupedReplies).toBe(2);
  });

  it('remembers keys across passivation and reactivation (in the key table, not the state)', async () => {
    vi.useFakeTimers();
    const store = new MemoryStateStore();
    const sys = make(store);
    const p = sys.ref(Photo, 'j');
    const k = uuidv7();
    await p.ask({ type: 'like' }, { idempotencyKey: k });
    await vi.advanceTimersByTimeAsync(1_500);
    expect(sys.stats().passivated).toBe(1);
    expect(await p.ask({ type: 'like' }, { idempotencyKey: k })).toEqual({ likes: 1 });
    expect(await p.ask({ type: 'get' })).toBe(1);
    expect(store.keyCount).toBe(1);
    const doc = await stored(store, 'photo', 'j');
    expect(doc).toEqual({ state: { likes: 1 }, keysUpTo: expect.any(Number) });
    expect(sys.stats().keyLookups).toBe(1);
  });

  it('remembers keys across a move to another node', async () => {
    const store = new MemoryStateStore();
    const where = { owner: 'a' as 'a' | 'b', epoch: 1 };
    const view = (me: 'a' | 'b'): Placement => ({
      shardOf: () => 7,
      locate: (): ShardLocation =>
        where.owner === me ? { kind: 'local', epoch: where.epoch } : { kind: 'remote', node: where.owner },
      forward: (node: string, env: ActorEnvelope) => (node === 'a' ? a : b).deliverLocal(env),
    });
    const a = make(store, view('a'));
    const b = make(store, view('b'));
    const once = uuidv7();
    await a.ref(Photo, 'k').ask({ type: 'like' }, { idempotencyKey: once });
    await a.stopShard(7);
    where.owner = 'b';
    where.epoch = 2;
    expect(await a.ref(Photo, 'k').ask({ type: 'like' }, { idempotencyKey: once })).toEqual({ likes: 1 });
    expect(await b.ref(Photo, 'k').ask({ type: 'get' })).toBe(1);
    expect(b.activeShards()).toEqual([7]);
  });

  it('keeps every key of the window, however many (memory holds maxKeys, the store the rest)', async () => {
    const store = new MemoryStateStore();
    const sys = make(store, undefined, 60_000, 3);
    const p = sys.ref(Photo, 'w');
    const keys = [...Array(10).keys()].map(() => uuidv7());
    for (const k of keys) await p.ask({ type: 'like' }, { idempotencyKey: k });
    for (const k of keys.reverse()) await p.ask({ type: 'like' }, { idempotencyKey: k });
    expect(await p.ask({ type: 'get' })).toBe(10);
    expect(store.keyCount).toBe(10);
    expect(sys.stats().keyLookups).toBeGreaterThan(0);
  });

  it('refuses a key older than the window (idempotency_key_expired) and one with no readable time (idempotency_key_invalid)', async () => {
    const store = new MemoryStateStore();
    const sys = make(store, undefined, 10_000, 3);
    const p = sys.ref(Photo, 'x');
    const code = (k: string) =>
      p.ask({ type: 'like' }, { idempotencyKey: k }).then(
        () => 'applied',
        (e: { code?: string; retryable?: boolean }) => `${e.code}/${e.retryable}`,
      );
    expect(await code(uuidv7(Date.now() - 11_000))).toBe('idempotency_key_expired/false');
    expect(await code('like:u42:photo9')).toBe('idempotency_key_invalid/false');
    expect(await code(uuidv7(Date.now() + 3_600_000))).toBe('idempotency_key_invalid/false');
    expect(await code(uuidv7(Date.now() - 9_000))).toBe('applied');
    expect(await p.ask({ type: 'get' })).toBe(1);
  });

  it('keeps answering while keyed messages arrive during a key lookup (one lookup at a time, no livelock)', async () => {
    const inner = new MemoryStateStore();
    const first = make(inner);
    const old = [...Array(200).keys()].map(() => uuidv7());
    const ref = (s: ActorSystem) => s.ref(Photo, 'busy');
    for (let i = 0; i < old.length; i += 50)
      await Promise.all(
        old.slice(i, i + 50).map((k) => ref(first).ask({ type: 'like' }, { idempotencyKey: k })),
      );
    await first.stop();
    // A new activation (another system, as after a move) whose key lookups take a while.
    const slow: MemoryStateStore = Object.assign(Object.create(inner) as MemoryStateStore, {
      lookupKeys: async (t: string, id: string, keys: readonly string[]) => {
        await new Promise((r) => setTimeout(r, 5));
        return inner.lookupKeys(t, id, keys);
      },
    });
    const next = make(slow, undefined, 60_000, 8);
    // Retries of every old key and 100 new ones, arriving in waves while lookups are in flight.
    const fresh = [...Array(100).keys()].map(() => uuidv7());
    const all = [...old, ...fresh].sort(() => Math.random() - 0.5);
    const asks: Promise<unknown>[] = [];
    for (let i = 0; i < all.length; i += 5) {
      for (const k of all.slice(i, i + 5)) asks.push(ref(next).ask({ type: 'like' }, { idempotencyKey: k }));
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(asks);
    expect(await ref(next).ask({ type: 'get' })).toBe(300);
    expect(next.stats().keyLookupBatches).toBeLessThan(100);
  });

  it('prunes keys older than the window from the store, in bounded statements', async () => {
    const store = new MemoryStateStore();
    const sys = make(store, undefined, 10_000, 3);
    const p = sys.ref(Photo, 'y');
    for (let i = 0; i < 5; i++) await p.ask({ type: 'like' }, { idempotencyKey: uuidv7() });
    expect(store.keyCount).toBe(5);
    expect(await sys.pruneKeys(Date.now())).toBe(0);
    // Past the window and the clock margin (5 min): all gone.
    expect(await sys.pruneKeys(Date.now() + 10_000 + 5 * 60_000 + 1)).toBe(5);
    expect(store.keyCount).toBe(0);
  });
});
