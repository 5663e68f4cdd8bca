import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ShardMapChange, ShardMapStore } from '../cluster/shard-map-store.js';

export interface ShardMapStoreContractHarness {
  /** Two handles on one fresh, empty store (two connections for NATS; one object for memory). */
  open(): Promise<{ a: ShardMapStore; b: ShardMapStore; close(): Promise<void> }>;
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const conflict = { code: 'shard_map_conflict' };

/** The contract every `ShardMapStore` adapter passes. */
export function shardMapStoreContract(name: string, harness: ShardMapStoreContractHarness): void {
  describe(`ShardMapStore contract: ${name}`, () => {
    let a: ShardMapStore;
    let b: ShardMapStore;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ a, b, close } = await harness.open());
    });
    afterEach(async () => close());

    it('creates once, reads back on the other handle, lists', async () => {
      expect(await a.list()).toEqual([]);
      expect(await a.get('shard.1')).toBeUndefined();
      const r1 = await a.create('shard.1', { owner: 'n1', epoch: 1 });
      await expect(b.create('shard.1', { owner: 'n2', epoch: 1 })).rejects.toMatchObject(conflict);
      expect(await b.get('shard.1')).toEqual({
        key: 'shard.1',
        value: { owner: 'n1', epoch: 1 },
        revision: r1,
      });
      await b.create('member.n1', { at: 5 });
      const all = (await a.list()).sort((x, y) => x.key.localeCompare(y.key));
      expect(all.map((e) => [e.key, e.value])).toEqual([
        ['member.n1', { at: 5 }],
        ['shard.1', { owner: 'n1', epoch: 1 }],
      ]);
    });

    it('updates only at the current revision (compare-and-set), revisions grow', async () => {
      const r1 = await a.create('coordinator', { node: 'n1', term: 1 });
      const r2 = await a.update('coordinator', { node: 'n1', term: 2 }, r1);
      expect(r2).toBeGreaterThan(r1);
      await expect(b.update('coordinator', { node: 'n2', term: 2 }, r1)).rejects.toMatchObject(conflict);
      await expect(b.update('missing', { x: 1 }, r1)).rejects.toMatchObject(conflict);
      expect((await b.get('coordinator'))?.value).toEqual({ node: 'n1', term: 2 });
      const r3 = await b.create('other', 1);
      expect(r3).toBeGreaterThan(r2);
    });

    it('lets exactly one of many concurrent CAS writers win', async () => {
      const r = await a.create('coordinator', { node: 'none' });
      const tries = Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).update('coordinator', { node: `n${i}` }, r).then(
          () => true,
          () => false,
        ),
      );
      expect((await Promise.all(tries)).filter(Boolean)).toHaveLength(1);
    });

    it('deletes, with and without an expected revision; a deleted key can be created again', async () => {
      const r1 = await a.create('member.n1', { at: 1 });
      await expect(b.delete('member.n1', r1 + 1000)).rejects.toMatchObject(conflict);
      expect(await b.get('member.n1')).toBeDefined();
      await b.delete('member.n1', r1);
      expect(await a.get('member.n1')).toBeUndefined();
      expect(await a.list()).toEqual([]);
      await a.create('member.n1', { at: 2 });
      await a.delete('member.n1');
      expect(await b.get('member.n1')).toBeUndefined();
    });

    it('watch sees every later write and delete in revision order, asynchronously', async () => {
      const seen: ShardMapChange[] = [];
      const w = await a.watch((c) => seen.push(c));
      const r1 = await b.create('shard.7', { owner: 'n1' });
      const r2 = await b.update('shard.7', { owner: 'n2' }, r1);
      const r3 = await b.create('member.n2', { at: 1 });
      await b.delete('member.n2', r3);
      await until(() => seen.some((c) => c.key === 'member.n2' && c.deleted));
      const later = seen.filter((c) => c.revision >= r1);
      expect(later.map((c) => c.revision)).toEqual([...later.map((c) => c.revision)].sort((x, y) => x - y));
      expect(later.map((c) => [c.key, c.deleted ? 'DEL' : c.value])).toEqual([
        ['shard.7', { owner: 'n1' }],
        ['shard.7', { owner: 'n2' }],
        ['member.n2', { at: 1 }],
        ['member.n2', 'DEL'],
      ]);
      expect(later[1]?.revision).toBe(r2);
      w.stop();
      await b.create('shard.8', {});
      await new Promise((r) => setTimeout(r, 100));
      expect(seen.some((c) => c.key === 'shard.8')).toBe(false);
    });

    it('never calls a watcher inside the write that triggers it', async () => {
      let calls = 0;
      await a.watch(() => calls++);
      const p = a.create('shard.9', { owner: 'n1' });
      expect(calls).toBe(0);
      await p;
      await until(() => calls > 0);
    });

    it('round-trips JSON values and lists a thousand keys', async () => {
      const value = {
        owner: 'node-a',
        epoch: 1_700_000_000_123,
        state: 'moving',
        to: 'node-b',
        tags: [1, 'x'],
        n: null,
      };
      await a.create('shard.0', value);
      expect((await b.get('shard.0'))?.value).toEqual(value);
      await Promise.all(
        Array.from({ length: 999 }, (_, i) => b.create(`shard.${i + 1}`, { owner: 'n', epoch: i })),
      );
      const all = await a.list();
      expect(all).toHaveLength(1000);
      expect(new Set(all.map((e) => e.key)).size).toBe(1000);
    });

    it('lists every key while another handle keeps rewriting them', async () => {
      const keys = Array.from({ length: 300 }, (_, i) => `shard.${i}`);
      const revs = new Map<string, number>();
      for (const [k, r] of await Promise.all(
        keys.map(async (k) => [k, await a.create(k, { epoch: 0 })] as const),
      )) {
        revs.set(k, r);
      }
      let writing = true;
      let writes = 0;
      const writer = (async () => {
        for (let i = 0; writing; i = (i + 7) % keys.length) {
          const k = keys[i]!;
          revs.set(k, await b.update(k, { epoch: ++writes }, revs.get(k)!));
        }
      })();
      try {
        for (let round = 0; round < 10; round++) {
          const listed = await a.list();
          expect(new Set(listed.map((e) => e.key)).size).toBe(keys.length);
        }
      } finally {
        writing = false;
        await writer;
      }
      expect(writes).toBeGreaterThan(0);
    });
  });
}
