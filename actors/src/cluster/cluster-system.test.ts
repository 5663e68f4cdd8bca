import { afterEach, describe, expect, it } from 'vitest';
import { defineActor } from '../runtime/actor-type.js';
import { uuidv7 } from '../runtime/idempotency-key.js';
import { MemoryBus } from '../runtime/memory-bus.js';
import { MemoryStateStore } from '../runtime/memory-state-store.js';
import { ActorSystem } from '../runtime/system.js';
import { ClusterNode } from './cluster-node.js';
import { MemoryShardMapStore } from './memory-shard-map-store.js';

// The cluster layer under the real ActorSystem, three and four nodes in one
// process over memory adapters, real (short) timers: the runtime's own
// deadlines and backoff run as they do in production.
const TIMINGS = {
  shardCount: 32,
  heartbeatMs: 40,
  leaseMs: 200,
  handoffTimeoutMs: 600,
  sweepAfterMs: 600,
  settleMs: 40,
};

const Counter = defineActor({
  name: 'counter',
  initialState: () => ({ n: 0 }),
  handlers: {
    inc: (ctx) => {
      const n = ctx.state.n + 1;
      ctx.setState({ n });
      return n;
    },
    get: (ctx) => ctx.state.n,
  },
});

function cluster() {
  const map = new MemoryShardMapStore();
  const bus = new MemoryBus();
  const store = new MemoryStateStore();
  const nodes: { node: ClusterNode; system: ActorSystem }[] = [];
  return {
    nodes,
    async add(nodeId: string) {
      const node = new ClusterNode({ nodeId, store: map, bus, ...TIMINGS });
      const system = new ActorSystem({ store, placement: node, idleMs: 60_000 }).register(Counter);
      await node.start(system);
      nodes.push({ node, system });
      return { node, system };
    },
    async settled(n: number) {
      const end = Date.now() + 3000;
      for (;;) {
        const owned = nodes
          .filter((x) => x.node.stats().state === 'running')
          .map((x) => x.node.stats().ownedShards);
        const all = nodes.every((x) => x.node.stats().assignedShards === TIMINGS.shardCount);
        if (
          all &&
          owned.length === n &&
          owned.every((o) => o > 0) &&
          owned.reduce((a, b) => a + b) === TIMINGS.shardCount
        )
          return;
        if (Date.now() > end) throw new Error(`not settled: ${owned}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

const ids = Array.from({ length: 8 }, (_, i) => `c${i}`);

describe('ClusterNode under the ActorSystem', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  it('counts exactly while a fourth node joins mid-load and then one drains', async () => {
    const c = cluster();
    for (const n of ['a', 'b', 'c']) await c.add(n);
    stops.push(async () => {
      for (const x of c.nodes) {
        await x.node.stop();
        await x.system.stop();
      }
    });
    await c.settled(3);
    let sent = 0;
    const expected = new Map<string, number>();
    const fire = async (count: number) => {
      const live = c.nodes.filter((x) => x.node.stats().state === 'running');
      await Promise.all(
        Array.from({ length: count }, () => {
          const id = ids[sent % ids.length]!;
          const via = live[sent % live.length]!;
          sent++;
          const key = uuidv7(); // idempotency keys are time-ordered (docs/actor-runtime.md)
          expected.set(id, (expected.get(id) ?? 0) + 1);
          return via.system.ref(Counter, id).ask({ type: 'inc' }, { idempotencyKey: key, deadlineMs: 3000 });
        }),
      );
    };
    const first = fire(300);
    await c.add('d');
    await first;
    await c.settled(4);
    const leaver = c.nodes[0]!;
    const second = fire(300);
    await leaver.node.drain();
    await second;
    expect(leaver.node.stats().ownedShards).toBe(0);
    expect(leaver.system.activeShards()).toEqual([]);
    const reader = c.nodes[1]!.system;
    for (const id of ids) expect(await reader.ref(Counter, id).ask({ type: 'get' })).toBe(expected.get(id));
    const moves = c.nodes.reduce((n, x) => n + x.node.stats().handoffsOut, 0);
    expect(moves).toBeGreaterThan(0);
    expect(c.nodes.reduce((n, x) => n + x.node.stats().takeovers, 0)).toBe(0);
  });

  it('a retried increment with the same idempotency key counts once, even after its shard moved', async () => {
    const c = cluster();
    for (const n of ['a', 'b']) await c.add(n);
    stops.push(async () => {
      for (const x of c.nodes) {
        await x.node.stop();
        await x.system.stop();
      }
    });
    await c.settled(2);
    const [a] = c.nodes;
    const once = new Map(ids.map((id) => [id, uuidv7()]));
    for (const id of ids)
      await a!.system.ref(Counter, id).ask({ type: 'inc' }, { idempotencyKey: once.get(id)! });
    await c.add('c');
    await c.settled(3);
    for (const x of c.nodes) {
      for (const id of ids)
        await x.system.ref(Counter, id).ask({ type: 'inc' }, { idempotencyKey: once.get(id)! });
    }
    for (const id of ids) expect(await a!.system.ref(Counter, id).ask({ type: 'get' })).toBe(1);
  });
});
