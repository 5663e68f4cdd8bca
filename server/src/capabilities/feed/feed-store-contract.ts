import { newId } from '@shutter/protocol';
import { describe, expect, it } from 'vitest';
import type { FeedStore } from './feed-store.js';

/** Ids made at increasing times: `ids(n)[i]` is older than `ids(n)[i + 1]`. */
function ids(n: number, from = 1_700_000_000_000): string[] {
  return [...Array(n).keys()].map((i) => newId(i % 1024, from + i));
}

const newestFirst = (a: readonly string[]) => [...a].sort().reverse();

async function built(store: FeedStore, reader: string, content: readonly string[]): Promise<void> {
  const token = await store.beginBuild(reader);
  expect(await store.finishBuild(reader, token, content)).toBe(true);
}

/** The contract every `FeedStore` adapter passes (see the port's comment). `maxItems` must be 10. */
export function feedStoreContract(name: string, open: () => Promise<FeedStore>, unique: () => string) {
  describe(`FeedStore contract: ${name}`, () => {
    it('tells a missing feed from a built empty one', async () => {
      const store = await open();
      const r = unique();
      expect(await store.page(r, { limit: 5 })).toBeUndefined();
      await built(store, r, []);
      expect(await store.page(r, { limit: 5 })).toEqual([]);
      await store.drop([r]);
      expect(await store.page(r, { limit: 5 })).toBeUndefined();
      await store.close();
    });

    it('pages newest first, strictly older than the cursor, and keeps the newest maxItems', async () => {
      const store = await open();
      const r = unique();
      const all = ids(14);
      await built(store, r, all.slice(0, 6));
      await store.add([{ reader: r, ids: all.slice(6) }]);
      const kept = newestFirst(all).slice(0, 10);
      expect(await store.page(r, { limit: 100 })).toEqual(kept);
      expect(await store.page(r, { limit: 4 })).toEqual(kept.slice(0, 4));
      expect(await store.page(r, { before: kept[3], limit: 4 })).toEqual(kept.slice(4, 8));
      expect(await store.page(r, { before: kept[7], limit: 4 })).toEqual(kept.slice(8, 10));
      expect(await store.page(r, { before: kept[9], limit: 4 })).toEqual([]);
      // A cursor that is not in the feed pages from where it would sort.
      const between = newId(0, 1_700_000_000_000 + 9);
      expect(await store.page(r, { before: between, limit: 100 })).toEqual(kept.filter((id) => id < between));
      await store.close();
    });

    it('adds to many feeds at once, only to feeds that exist, idempotently; removes from many', async () => {
      const store = await open();
      const [a, b, missing] = [unique(), unique(), unique()];
      const [x, y, z] = ids(3);
      await built(store, a, []);
      await built(store, b, [x!]);
      const entries = [a, b, missing].map((reader) => ({ reader, ids: [y!, z!] }));
      await store.add(entries);
      await store.add(entries);
      expect(await store.page(a, { limit: 10 })).toEqual([z, y]);
      expect(await store.page(b, { limit: 10 })).toEqual([z, y, x]);
      expect(await store.page(missing, { limit: 10 })).toBeUndefined();
      await store.remove([
        { reader: a, ids: [y!] },
        { reader: b, ids: [x!, z!] },
        { reader: missing, ids: [x!] },
      ]);
      expect(await store.page(a, { limit: 10 })).toEqual([z]);
      expect(await store.page(b, { limit: 10 })).toEqual([y]);
      await store.close();
    });

    it('keeps what fan-out added while a build was in progress', async () => {
      const store = await open();
      const r = unique();
      const [old, during] = ids(2);
      const token = await store.beginBuild(r);
      expect(await store.page(r, { limit: 10 })).toBeUndefined();
      await store.add([{ reader: r, ids: [during!] }]);
      expect(await store.finishBuild(r, token, [old!])).toBe(true);
      expect(await store.page(r, { limit: 10 })).toEqual([during, old]);
      await store.close();
    });

    it('stores nothing from a build whose feed was dropped meanwhile; two builds at once both land', async () => {
      const store = await open();
      const r = unique();
      const [p, q] = ids(2);
      const stale = await store.beginBuild(r);
      await store.drop([r]);
      expect(await store.finishBuild(r, stale, [p!])).toBe(false);
      expect(await store.page(r, { limit: 10 })).toBeUndefined();

      const [t1, t2] = await Promise.all([store.beginBuild(r), store.beginBuild(r)]);
      const done = await Promise.all([store.finishBuild(r, t1, [p!]), store.finishBuild(r, t2, [p!, q!])]);
      expect(done).toEqual([true, true]);
      expect(await store.page(r, { limit: 10 })).toEqual([q, p]);
      // A token is used once.
      expect(await store.finishBuild(r, t1, [p!])).toBe(false);
      await store.close();
    });

    it('takes a full feed of maxItems in one build', async () => {
      const store = await open();
      const r = unique();
      const all = ids(25);
      await built(store, r, all);
      expect(await store.page(r, { limit: 100 })).toEqual(newestFirst(all).slice(0, 10));
      await store.close();
    });
  });
}
