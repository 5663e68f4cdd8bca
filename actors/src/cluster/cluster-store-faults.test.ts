import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { advance, makeCluster, settled, TIMINGS, until } from './test-cluster.js';

// The shard map store failing for everyone at once (issue 8 items 1 and 2),
// three nodes in one process on fake time; server/test/cluster-faults.test.ts
// does the same with real processes and a NATS it kills.

// These scenarios ride out outages of several leases: allow them longer than the default.
const LONG_MS = 10_000;

describe('ClusterNode when the shard map fails for every node', () => {
  let c: ReturnType<typeof makeCluster>;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    c = makeCluster();
  });
  afterEach(async () => {
    for (const { node } of c.nodes.values()) await node.stop();
    vi.useRealTimers();
  });

  it('an outage of three leases that every node shares moves no shard and takes nothing over', async () => {
    await Promise.all(['a', 'b', 'c'].map((n) => c.add(n)));
    await settled(c, ['a', 'b', 'c'], LONG_MS);
    // Past the coordinator's first lease, so it judges liveness.
    await advance(3 * TIMINGS.leaseMs);
    const before = await c.owners();
    for (const n of c.nodes.values()) n.store.cut = true;
    await advance(3 * TIMINGS.leaseMs);
    // Heal one node first, as a reconnect does: its heartbeat lands while the others' are still old.
    const order = [...c.nodes.values()];
    for (const n of order) {
      n.store.heal();
      await advance(TIMINGS.heartbeatMs / 2);
    }
    await advance(5 * TIMINGS.leaseMs);
    expect(await c.owners()).toEqual(before);
    expect(order.reduce((k, n) => k + n.node.stats().takeovers, 0)).toBe(0);
  });

  it('a node that stops while the others go on is still taken over after a lease', async () => {
    await Promise.all(['a', 'b', 'c'].map((n) => c.add(n)));
    await settled(c, ['a', 'b', 'c'], LONG_MS);
    await advance(3 * TIMINGS.leaseMs);
    const victim = [...c.nodes.values()].find((n) => !n.node.stats().coordinator)!;
    victim.store.cut = true;
    const ms = await until(
      async () => [...(await c.owners()).values()].every((r) => r.owner !== victim.node.nodeId),
      LONG_MS,
    );
    expect(ms).toBeLessThan(TIMINGS.leaseMs + 4 * TIMINGS.heartbeatMs);
    victim.store.heal();
  });

  it('a lost map (revisions start again at 1) is rebuilt: every shard reassigned above its old epoch, every actor answers', async () => {
    await Promise.all(['a', 'b', 'c'].map((n) => c.add(n)));
    await settled(c, ['a', 'b', 'c'], LONG_MS);
    const before = await c.owners();
    c.store.lose();
    const ms = await until(async () => (await c.owners()).size === TIMINGS.shardCount, LONG_MS);
    await settled(c, ['a', 'b', 'c'], LONG_MS);
    const after = await c.owners();
    for (const [s, rec] of after) expect(rec.epoch).toBeGreaterThan(before.get(s)!.epoch);
    for (const { system } of c.nodes.values()) {
      for (let i = 0; i < 20; i++) {
        const r = await system.ask('counter', `k${i}`, 'where', 2000);
        expect(r.node).toBe(after.get(c.nodes.get('a')!.node.shardOf('counter', `k${i}`))?.owner);
      }
    }
    expect(ms).toBeLessThan(3 * TIMINGS.leaseMs);
  });
});

describe('ClusterNode logs of an outage', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(() => vi.useRealTimers());

  it('a tick that fails the same way every time is logged once, then once with its count when it ends', async () => {
    const c = makeCluster();
    const events: { event: string; fields: Record<string, unknown> }[] = [];
    const { node, store } = await c.add('a', { log: (event, fields) => events.push({ event, fields }) });
    await advance(2 * TIMINGS.leaseMs);
    store.failWith = new Error('not connected to NATS');
    await advance(20 * TIMINGS.heartbeatMs);
    const failed = events.filter((e) => e.event === 'tick_failed');
    expect(failed).toHaveLength(1);
    expect(String(failed[0]!.fields.error)).toContain('not connected to NATS');
    expect(events.filter((e) => e.event === 'tick_failed_repeated')).toHaveLength(0);
    store.failWith = undefined;
    await advance(3 * TIMINGS.heartbeatMs);
    const repeated = events.filter((e) => e.event === 'tick_failed_repeated');
    expect(repeated).toHaveLength(1);
    expect(repeated[0]!.fields.times).toBeGreaterThanOrEqual(15);
    expect(events.filter((e) => e.event === 'tick_failed')).toHaveLength(1);
    await node.stop();
  });
});
