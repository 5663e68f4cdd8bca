import { describe, expect, it } from 'vitest';
import type { ExploreStore } from './explore-store.js';

const T = Date.UTC(2026, 5, 1);

/**
 * The contract every `ExploreStore` adapter passes (see the port's comment).
 * `open` gives a store with `shownTtlMs` 60 000, `shownMax` 5 and a picks
 * TTL of at least a minute; `unique` a fresh user id.
 */
export function exploreStoreContract(name: string, open: () => Promise<ExploreStore>, unique: () => string) {
  describe(`ExploreStore contract: ${name}`, () => {
    it('tells never-computed picks from computed empty ones; replaces them whole; drops users', async () => {
      const store = await open();
      const [u, v] = [unique(), unique()];
      expect(await store.read(u, T)).toEqual({ picks: undefined, shown: new Set() });
      await store.putPicks(u, { computedAt: T, ids: [] });
      expect((await store.read(u, T)).picks).toEqual({ computedAt: T, ids: [] });
      await store.putPicks(u, { computedAt: T + 1, ids: ['b', 'a', 'c'] });
      await store.putPicks(v, { computedAt: T + 2, ids: ['x'] });
      expect((await store.read(u, T)).picks).toEqual({ computedAt: T + 1, ids: ['b', 'a', 'c'] });
      await store.markShown(u, ['s'], T);
      await store.drop([u]);
      expect(await store.read(u, T)).toEqual({ picks: undefined, shown: new Set() });
      expect((await store.read(v, T)).picks).toEqual({ computedAt: T + 2, ids: ['x'] });
      await store.close();
    });

    it('remembers shown posts for the TTL, the most recent shownMax of them', async () => {
      const store = await open();
      const u = unique();
      await store.markShown(u, ['a', 'b'], T);
      await store.markShown(u, ['c'], T + 10_000);
      expect((await store.read(u, T + 10_000)).shown).toEqual(new Set(['a', 'b', 'c']));
      // a and b were shown 60 s before: forgotten.
      expect((await store.read(u, T + 60_000)).shown).toEqual(new Set(['c']));
      await store.markShown(u, ['d', 'e', 'f', 'g'], T + 20_000);
      await store.markShown(u, ['a'], T + 30_000); // shown again: now the newest
      expect((await store.read(u, T + 30_000)).shown).toEqual(new Set(['a', 'd', 'e', 'f', 'g']));
      await store.markShown(u, [], T + 30_000);
      expect((await store.read(u, T + 30_000)).shown.size).toBe(5);
      await store.close();
    });
  });
}
