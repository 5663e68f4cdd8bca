import { expect, it } from 'vitest';
import { exploreStoreContract } from './explore-store-contract.js';
import { MemoryExploreStore } from './memory-explore-store.js';

const options = { picksTtlMs: 60_000, shownTtlMs: 60_000, shownMax: 5, maxUsers: 1000, now: Date.now };
let n = 0;
exploreStoreContract(
  'MemoryExploreStore',
  async () => new MemoryExploreStore(options),
  () => `m${++n}`,
);

it('forgets the least recently used user beyond maxUsers, and picks after their TTL', async () => {
  let now = 0;
  const store = new MemoryExploreStore({ ...options, maxUsers: 2, now: () => now });
  for (const u of ['a', 'b']) await store.putPicks(u, { computedAt: 0, ids: [u] });
  expect((await store.read('a', 0)).picks?.ids).toEqual(['a']); // a is now the most recent
  await store.putPicks('c', { computedAt: 0, ids: ['c'] });
  expect((await store.read('b', 0)).picks).toBeUndefined();
  now = 60_000;
  expect((await store.read('a', 0)).picks).toBeUndefined();
});
