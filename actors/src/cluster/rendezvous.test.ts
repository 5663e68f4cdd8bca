import { describe, expect, it } from 'vitest';
import { fmix32, hash32, shardOf } from './hash.js';
import { Rendezvous } from './rendezvous.js';

const SHARDS = 1024;
const names = (n: number) => Array.from({ length: n }, (_, i) => `node-${i + 1}`);
const moved = (a: (string | undefined)[], b: (string | undefined)[]) => a.filter((o, i) => o !== b[i]).length;

describe('hash32 and shardOf', () => {
  it('are stable across runs (pinned values)', () => {
    // Pinned: a change here would move every actor of a live cluster.
    expect([hash32(''), hash32('a'), hash32('é'), hash32('😀')]).toEqual([
      2872998923, 444641715, 2387039943, 855877642,
    ]);
    expect(shardOf('user', '42', SHARDS)).toBe(680);
    expect(shardOf('photo', 'abc', SHARDS)).toBe(372);
  });

  it('hashes the UTF-8 bytes, as any other language would', () => {
    const reference = (s: string) => {
      let h = 0x811c9dc5;
      for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193);
      return fmix32(h);
    };
    for (const s of ['', 'ascii', 'ünïcödé', '写真', '📷 photo 😀', 'a\u0000b'])
      expect(hash32(s)).toBe(reference(s));
  });

  it('spreads ids evenly over the shards', () => {
    const counts = new Array<number>(SHARDS).fill(0);
    for (let i = 0; i < 200_000; i++) {
      const s = shardOf('user', String(i), SHARDS);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    const mean = 200_000 / SHARDS;
    expect(Math.min(...counts)).toBeGreaterThan(mean * 0.7);
    expect(Math.max(...counts)).toBeLessThan(mean * 1.3);
  });

  it('keeps the type in the key: the same id of two types may land apart', () => {
    let differ = 0;
    for (let i = 0; i < 100; i++)
      if (shardOf('user', String(i), SHARDS) !== shardOf('photo', String(i), SHARDS)) differ++;
    expect(differ).toBeGreaterThan(90);
  });
});

describe('Rendezvous', () => {
  it('balances shards over nodes', () => {
    for (const n of [2, 3, 4, 8]) {
      const owners = new Rendezvous(names(n)).assign(SHARDS);
      const per = names(n).map((name) => owners.filter((o) => o === name).length);
      const mean = SHARDS / n;
      expect(Math.min(...per)).toBeGreaterThan(mean * 0.8);
      expect(Math.max(...per)).toBeLessThan(mean * 1.2);
    }
  });

  it('does not depend on the order nodes are listed in', () => {
    const a = new Rendezvous(['b', 'a', 'c']).assign(SHARDS);
    const b = new Rendezvous(['c', 'b', 'a', 'a']).assign(SHARDS);
    expect(a).toEqual(b);
  });

  it('moves only the newcomer’s share when a node joins (~1/n, never from node to node)', () => {
    for (const n of [1, 2, 3, 7]) {
      const before = new Rendezvous(names(n)).assign(SHARDS);
      const after = new Rendezvous(names(n + 1)).assign(SHARDS);
      const newcomer = `node-${n + 1}`;
      // Every shard that moves goes to the newcomer.
      after.forEach((o, i) => {
        if (o !== before[i]) expect(o).toBe(newcomer);
      });
      const m = moved(before, after);
      const ideal = SHARDS / (n + 1);
      expect(m).toBeGreaterThan(ideal * 0.8);
      expect(m).toBeLessThan(ideal * 1.2);
    }
  });

  it('moves only the leaver’s shards when a node leaves', () => {
    const before = new Rendezvous(names(4)).assign(SHARDS);
    const after = new Rendezvous(names(4).filter((n) => n !== 'node-2')).assign(SHARDS);
    const owned = before.filter((o) => o === 'node-2').length;
    expect(moved(before, after)).toBe(owned);
    after.forEach((o, i) => {
      if (before[i] !== 'node-2') expect(o).toBe(before[i]);
    });
  });

  it('has no owner without nodes', () => {
    expect(new Rendezvous([]).ownerOf(3)).toBeUndefined();
  });
});
