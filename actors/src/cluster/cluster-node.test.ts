import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { advance, makeCluster, settled, TIMINGS, until } from './test-cluster.js';

describe('ClusterNode (three nodes in one process, fake time)', () => {
  let c: ReturnType<typeof makeCluster>;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    c = makeCluster();
  });
  afterEach(async () => {
    for (const { node } of c.nodes.values()) await node.stop();
    vi.useRealTimers();
  });

  it('elects one coordinator and assigns every shard once, spread over the nodes', async () => {
    await Promise.all(['a', 'b', 'c'].map((n) => c.add(n)));
    await settled(c, ['a', 'b', 'c']);
    const leaders = [...c.nodes.values()].filter((n) => n.node.stats().coordinator);
    expect(leaders).toHaveLength(1);
    const owned = [...c.nodes.values()].map((n) => n.node.stats().ownedShards);
    expect(owned.reduce((x, y) => x + y)).toBe(TIMINGS.shardCount);
    for (const n of owned) expect(n).toBeGreaterThan(TIMINGS.shardCount / 6);
    expect(leaders[0]?.node.stats().elections).toBe(1);
  });

  it('answers any actor from any node: local short-circuit or forward to the owner', async () => {
    await Promise.all(['a', 'b', 'c'].map((n) => c.add(n)));
    await settled(c, ['a', 'b', 'c']);
    const owners = await c.owners();
    for (const { node, system } of c.nodes.values()) {
      for (let i = 0; i < 20; i++) {
        const reply = await system.ask('counter', `k${i}`, 'where');
        expect(reply.node).toBe(owners.get(node.shardOf('counter', `k${i}`))?.owner);
      }
    }
    const a = c.nodes.get('a')!.node.stats();
    expect(a.routedLocal).toBeGreaterThan(0);
    expect(a.routedRemote).toBeGreaterThan(0);
    expect(a.forwarded).toBe(a.routedRemote);
  });

  it('on join moves about 1/4 of the shards, each stopped by its old owner before release at epoch + 1', async () => {
    await Promise.all(['a', 'b', 'c'].map((n) => c.add(n)));
    await settled(c, ['a', 'b', 'c']);
    const before = await c.owners();
    for (let i = 0; i < 200; i++) await c.nodes.get('a')!.system.ask('counter', `k${i}`, 'inc');
    await c.add('d');
    await settled(c, ['a', 'b', 'c', 'd']);
    const after = await c.owners();
    let moved = 0;
    for (const [s, rec] of after) {
      const old = before.get(s)!;
      if (rec.owner === old.owner) expect(rec.epoch).toBe(old.epoch);
      else {
        moved++;
        expect(rec.owner).toBe('d');
        expect(rec.epoch).toBe(old.epoch + 1);
        expect(c.nodes.get(old.owner)!.system.stopped).toContain(s);
      }
    }
    expect(moved).toBeGreaterThan(TIMINGS.shardCount / 4 - 8);
    expect(moved).toBeLessThan(TIMINGS.shardCount / 4 + 8);
    const handoffs = ['a', 'b', 'c'].reduce((n, id) => n + c.nodes.get(id)!.node.stats().handoffsOut, 0);
    expect(handoffs).toBe(moved);
    for (let i = 0; i < 200; i++) await c.nodes.get('b')!.system.ask('counter', `k${i}`, 'inc');
    expect([...c.db.counts.values()].reduce((x, y) => x + y)).toBe(400);
    expect(c.db.rejected).toBe(0);
  });

  it('takes a silent node’s shards over within lease + a heartbeat, at epoch + 1, electing a new coordinator if needed', async () => {
    await Promise.all(['a', 'b', 'c'].map((n) => c.add(n)));
    await settled(c, ['a', 'b', 'c']);
    const leader = [...c.nodes.values()].find((n) => n.node.stats().coordinator)!;
    const before = await c.owners();
    // Crash: the node's store and bus go silent at once.
    leader.store.cut = true;
    void leader.node.stop();
    const took = await until(async () =>
      [...(await c.owners()).values()].every((o) => o.owner !== leader.node.nodeId),
    );
    expect(took).toBeLessThanOrEqual(TIMINGS.leaseMs + 2 * TIMINGS.heartbeatMs + 100);
    for (const [s, rec] of await c.owners()) {
      if (before.get(s)!.owner === leader.node.nodeId) expect(rec.epoch).toBe(before.get(s)!.epoch + 1);
    }
    const rest = [...c.nodes.values()].filter((n) => n !== leader);
    await until(() => rest.some((n) => n.node.stats().coordinator));
    for (const n of rest)
      expect((await n.system.ask('counter', 'x', 'where')).node).not.toBe(leader.node.nodeId);
    c.nodes.delete(leader.node.nodeId);
  });

  it('drains: every shard handed off by handoff (not takeover), nothing left active, coordinator role passed on', async () => {
    await Promise.all(['a', 'b', 'c'].map((n) => c.add(n)));
    await settled(c, ['a', 'b', 'c']);
    const leader = [...c.nodes.values()].find((n) => n.node.stats().coordinator)!;
    for (let i = 0; i < 100; i++) await leader.system.ask('counter', `k${i}`, 'inc');
    const owned = leader.node.stats().ownedShards;
    let done = false;
    void leader.node.drain().then(() => {
      done = true;
    });
    await until(() => done);
    expect(leader.node.stats().ownedShards).toBe(0);
    expect(leader.node.stats().handoffsOut).toBe(owned);
    expect([...leader.system.activeShards()]).toEqual([]);
    await leader.node.stop();
    c.nodes.delete(leader.node.nodeId);
    const rest = [...c.nodes.values()];
    await until(() => rest.some((n) => n.node.stats().coordinator), 2 * TIMINGS.heartbeatMs + 50);
    expect(rest.reduce((n, x) => n + x.node.stats().takeovers, 0)).toBe(0);
    for (let i = 0; i < 100; i++) await rest[0]!.system.ask('counter', `k${i}`, 'inc');
    expect([...c.db.counts.values()].reduce((x, y) => x + y)).toBe(200);
  });

  it('a node cut off from the map fences itself after a lease; its stale activations are dropped when it returns', async () => {
    await Promise.all(['a', 'b', 'c'].map((n) => c.add(n)));
    await settled(c, ['a', 'b', 'c']);
    const victim = c.nodes.get('b')!;
    const id = Array.from({ length: 100 }, (_, i) => `k${i}`).find(
      (k) => victim.node.locate(victim.node.shardOf('counter', k)).kind === 'local',
    )!;
    const shard = victim.node.shardOf('counter', id);
    const old = victim.node.locate(shard);
    await victim.system.ask('counter', id, 'inc');
    victim.store.cut = true;
    await advance(TIMINGS.leaseMs + TIMINGS.heartbeatMs);
    expect(victim.node.stats().fenced).toBe(true);
    expect(victim.node.locate(shard)).toEqual({ kind: 'moving' });
    await until(async () => (await c.owners()).get(shard)?.owner !== 'b');
    // Others write at the new epoch; the fake store now rejects the old one.
    await c.nodes.get('a')!.system.ask('counter', id, 'inc');
    expect(old.kind === 'local' && (await c.owners()).get(shard)?.epoch).toBe(
      old.kind === 'local' && old.epoch + 1,
    );
    expect(() => c.db.commit(shard, old.kind === 'local' ? old.epoch : -1, id)).toThrow();
    victim.store.heal();
    await until(() => victim.system.stopped.includes(shard));
    expect(victim.node.stats().shardsDropped).toBeGreaterThan(0);
    await until(() => !victim.node.stats().fenced);
    expect(c.db.counts.get(id)).toBe(2);
  });

  it('answers shard_not_owned (retryable) for a shard it does not own', async () => {
    await Promise.all(['a', 'b'].map((n) => c.add(n)));
    await settled(c, ['a', 'b']);
    const a = c.nodes.get('a')!.node;
    const id = Array.from({ length: 100 }, (_, i) => `k${i}`).find(
      (k) => a.locate(a.shardOf('t', k)).kind === 'remote',
    )!;
    const env = { type: 't', id, msg: { type: 'where' }, kind: 'ask' as const, deadline: Date.now() + 1000 };
    await expect(c.nodes.get('b')!.node.forward('a', env, env.deadline)).rejects.toMatchObject({
      code: 'shard_not_owned',
      retryable: true,
    });
    expect(a.stats().rejectedNotOwned).toBe(1);
  });
});
