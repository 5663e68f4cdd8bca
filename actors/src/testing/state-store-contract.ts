import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StateStore, StateWrite } from '../runtime/state-store.js';

export interface StateStoreContractHarness {
  /** One store for the whole suite (tests use their own types and shards, so they never collide). */
  open(): Promise<{ store: StateStore; close(): Promise<void> }>;
}

let run = 0;

/** The contract every `StateStore` adapter passes (see the port's comments). */
export function stateStoreContract(name: string, harness: StateStoreContractHarness): void {
  describe(`StateStore contract: ${name}`, () => {
    let store: StateStore;
    let close: () => Promise<void>;
    let n = 0;
    // Fresh names and shards per test: the store is shared by the suite (and, for SQL, by earlier runs).
    const base = `${Date.now().toString(36)}${(run++).toString(36)}`;
    const shardBase = 1_000 + (Date.now() % 100_000) * 1_000;
    const fresh = () => {
      n++;
      return { type: `t${base}_${n}`, shard: shardBase + n * 10 };
    };
    const w = (o: Partial<StateWrite> & Pick<StateWrite, 'type' | 'shard'>): StateWrite => ({
      id: 'a',
      epoch: 1,
      expectedVersion: 0,
      state: { n: 1 },
      ...o,
    });
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (e as { code?: string }).code ?? String(e),
      );

    beforeAll(async () => {
      ({ store, close } = await harness.open());
    });
    afterAll(async () => close?.());

    it('loads nothing for an actor never saved', async () => {
      const { type } = fresh();
      expect(await store.load(type, 'nobody')).toBeUndefined();
    });

    it('saves version 1 from nothing, then +1 per save, and loads state, version and epoch', async () => {
      const { type, shard } = fresh();
      expect(await store.save(w({ type, shard, state: { n: 1 } }))).toBe(1);
      expect(await store.save(w({ type, shard, expectedVersion: 1, epoch: 2, state: { n: 2 } }))).toBe(2);
      expect(await store.load(type, 'a')).toEqual({ state: { n: 2 }, version: 2, epoch: 2 });
    });

    it('keeps JSON documents exactly (nesting, unicode and U+0000, quotes, numbers, null) and hands out copies', async () => {
      const { type, shard } = fresh();
      const doc = {
        s: 'é "q" \\ \u2603 😀 nul:\u0000',
        a: [1, 2.5, -3, null, { x: [true, false] }],
        o: { k: 'v' },
        z: 0,
      };
      await store.save(w({ type, shard, id: 'doc', state: doc }));
      const a = await store.load(type, 'doc');
      expect(a?.state).toEqual(doc);
      (a!.state as { o: { k: string } }).o.k = 'changed';
      expect((await store.load(type, 'doc'))?.state).toEqual(doc);
    });

    it('rejects a stale expected version with version_conflict and changes nothing', async () => {
      const { type, shard } = fresh();
      await store.save(w({ type, shard }));
      expect(await codeOf(store.save(w({ type, shard, expectedVersion: 0, state: { n: 9 } })))).toBe(
        'version_conflict',
      );
      expect(await codeOf(store.save(w({ type, shard, expectedVersion: 5, state: { n: 9 } })))).toBe(
        'version_conflict',
      );
      expect(await codeOf(store.save(w({ type, shard, id: 'new', expectedVersion: 1 })))).toBe(
        'version_conflict',
      );
      expect(await store.load(type, 'a')).toEqual({ state: { n: 1 }, version: 1, epoch: 1 });
      expect(await store.load(type, 'new')).toBeUndefined();
    });

    it('lets exactly one of two concurrent writers with the same expected version win', async () => {
      const { type, shard } = fresh();
      const codes = await Promise.all(
        [1, 2, 3, 4].map((i) => codeOf(store.save(w({ type, shard, id: 'race', state: { i } })))),
      );
      expect(codes.filter((c) => c === 'resolved')).toHaveLength(1);
      expect(codes.filter((c) => c === 'version_conflict')).toHaveLength(3);
      expect((await store.load(type, 'race'))?.version).toBe(1);
    });

    it('keeps actors of different types and ids apart', async () => {
      const a = fresh();
      const b = fresh();
      await store.save(w({ ...a, id: 'x', state: 'a' }));
      await store.save(w({ ...b, id: 'x', state: 'b' }));
      await store.save(w({ ...a, id: 'y', state: 'ay' }));
      expect((await store.load(a.type, 'x'))?.state).toBe('a');
      expect((await store.load(b.type, 'x'))?.state).toBe('b');
      expect((await store.load(a.type, 'y'))?.state).toBe('ay');
    });

    it('rejects a write whose epoch is older than one already written to the shard (stale_epoch)', async () => {
      const { type, shard } = fresh();
      await store.save(w({ type, shard, id: 'new-owner', epoch: 5 }));
      // The old owner (epoch 4) may not write any actor of that shard, even one the new owner never touched.
      expect(await codeOf(store.save(w({ type, shard, id: 'other', epoch: 4 })))).toBe('stale_epoch');
      expect(await store.load(type, 'other')).toBeUndefined();
      expect(await store.save(w({ type, shard, id: 'other', epoch: 5 }))).toBe(1);
      expect(await store.save(w({ type, shard, id: 'other', epoch: 6, expectedVersion: 1 }))).toBe(2);
      expect(
        await codeOf(store.save(w({ type, shard, id: 'new-owner', epoch: 5, expectedVersion: 1 }))),
      ).toBe('stale_epoch');
    });

    it('fence raises the shard epoch without writing; lower fences and writes are stale, equal ones fine', async () => {
      const { type, shard } = fresh();
      await store.save(w({ type, shard, epoch: 1 }));
      await store.fence(shard, 3);
      await store.fence(shard, 3);
      expect(await codeOf(store.fence(shard, 2))).toBe('stale_epoch');
      expect(await codeOf(store.save(w({ type, shard, epoch: 2, expectedVersion: 1 })))).toBe('stale_epoch');
      expect(await store.load(type, 'a')).toEqual({ state: { n: 1 }, version: 1, epoch: 1 });
      expect(await store.save(w({ type, shard, epoch: 3, expectedVersion: 1 }))).toBe(2);
      // Other shards keep their own epochs.
      const other = fresh();
      expect(await store.save(w({ ...other, epoch: 1 }))).toBe(1);
    });

    it('saveBatch checks each write on its own: the good ones commit, the rejected ones change nothing', async () => {
      const { type, shard } = fresh();
      const s2 = fresh().shard;
      await store.save(w({ type, shard, id: 'v1' }));
      await store.fence(s2, 7);
      const out = await store.saveBatch([
        w({ type, shard, id: 'new1', state: 'n1' }),
        w({ type, shard, id: 'v1', expectedVersion: 1, state: 'v2' }),
        w({ type, shard, id: 'conflict', expectedVersion: 3 }),
        w({ type, shard: s2, id: 'stale', epoch: 6 }),
        w({ type, shard: s2, id: 'fresh', epoch: 7, state: 'f' }),
      ]);
      expect(out.map((o) => (o.ok ? o.version : o.error.code))).toEqual([
        1,
        2,
        'version_conflict',
        'stale_epoch',
        1,
      ]);
      expect((await store.load(type, 'v1'))?.state).toBe('v2');
      expect((await store.load(type, 'new1'))?.state).toBe('n1');
      expect((await store.load(type, 'fresh'))?.state).toBe('f');
      expect(await store.load(type, 'conflict')).toBeUndefined();
      expect(await store.load(type, 'stale')).toBeUndefined();
    });

    it('saveBatch commits hundreds of actors in one call and an empty batch is a no-op', async () => {
      const { type, shard } = fresh();
      const writes = [...Array(500).keys()].map((i) =>
        w({ type, shard: shard + (i % 7), id: `b${i}`, state: { i } }),
      );
      const out = await store.saveBatch(writes);
      expect(out.every((o) => o.ok && o.version === 1)).toBe(true);
      expect((await store.load(type, 'b499'))?.state).toEqual({ i: 499 });
      expect(await store.saveBatch([])).toEqual([]);
    });

    it('refuses names a text column cannot hold (U+0000, lone surrogates) with state_rejected, storing nothing', async () => {
      const { type, shard } = fresh();
      for (const id of ['a\u0000b', '\ud800', 'x\udc00y']) {
        expect(await codeOf(store.load(type, id))).toBe('state_rejected');
        expect(await codeOf(store.saveBatch([w({ type, shard, id: 'ok' }), w({ type, shard, id })]))).toBe(
          'state_rejected',
        );
      }
      expect(await store.load(type, 'ok')).toBeUndefined();
      // A surrogate pair is fine.
      expect(await store.save(w({ type, shard, id: 'pair😀' }))).toBe(1);
    });

    it('refuses a state JSON cannot hold with state_rejected, storing nothing of the batch', async () => {
      const { type, shard } = fresh();
      expect(
        await codeOf(
          store.saveBatch([w({ type, shard, id: 'ok' }), w({ type, shard, id: 'big', state: { n: 1n } })]),
        ),
      ).toBe('state_rejected');
      expect(await store.load(type, 'ok')).toBeUndefined();
    });

    it('key table: keys of an accepted write are stored with it, keys of a rejected one are not', async () => {
      const { type, shard } = fresh();
      const k = (key: string, at = 1_000, reply: unknown = { r: key }) => ({ key, at, reply });
      const out = await store.saveBatch([
        w({ type, shard, id: 'a', keys: [k('a1'), k('a2', 2_000, 'é "q" \u0000')] }),
        w({ type, shard, id: 'b', expectedVersion: 5, keys: [k('b1')] }), // version conflict
      ]);
      expect(out.map((o) => o.ok)).toEqual([true, false]);
      const a = await store.lookupKeys(type, 'a', ['a1', 'a2', 'zz']);
      expect([...a.entries()].sort()).toEqual([
        ['a1', { r: 'a1' }],
        ['a2', 'é "q" \u0000'],
      ]);
      expect((await store.lookupKeys(type, 'b', ['b1'])).size).toBe(0);
      expect((await store.lookupKeys(type, 'nobody', [])).size).toBe(0);
      // Keys belong to their actor: the same key on another actor is another key.
      expect((await store.lookupKeys(type, 'b', ['a1'])).size).toBe(0);
      // A key written again keeps its first reply.
      expect(
        await store.save(w({ type, shard, id: 'a', expectedVersion: 1, keys: [k('a1', 1_000, 'second')] })),
      ).toBe(2);
      expect((await store.lookupKeys(type, 'a', ['a1'])).get('a1')).toEqual({ r: 'a1' });
    });

    it('key table: keys are fenced with their write (a stale epoch stores no key)', async () => {
      const { type, shard } = fresh();
      await store.fence(shard, 9);
      const out = await store.saveBatch([
        w({ type, shard, id: 'old', epoch: 8, keys: [{ key: 'k', at: 1, reply: 1 }] }),
      ]);
      expect(out[0]?.ok).toBe(false);
      expect((await store.lookupKeys(type, 'old', ['k'])).size).toBe(0);
    });

    it('key table: pruneKeys deletes keys older than a time, at most `limit` per call', async () => {
      const { type, shard } = fresh();
      // Times far below any other test's keys (the store is shared): ours are the only ones this old.
      const base = -1_000_000_000 - n * 1_000;
      const keys = [...Array(7).keys()].map((i) => ({ key: `p${i}`, at: base + i, reply: i }));
      await store.save(w({ type, shard, id: 'p', keys }));
      expect(await store.pruneKeys(base + 5, 3)).toBe(3);
      expect(await store.pruneKeys(base + 5, 3)).toBe(2);
      expect(await store.pruneKeys(base + 5, 3)).toBe(0);
      const left = await store.lookupKeys(
        type,
        'p',
        keys.map((k) => k.key),
      );
      expect([...left.keys()].sort()).toEqual(['p5', 'p6']);
    });

    it('refuses a batch naming one actor twice', async () => {
      const { type, shard } = fresh();
      await expect(
        store.saveBatch([w({ type, shard }), w({ type, shard, expectedVersion: 1 })]),
      ).rejects.toThrow(TypeError);
      expect(await store.load(type, 'a')).toBeUndefined();
    });
  });
}
