import { newId } from '@shutter/protocol';
import { expect, it } from 'vitest';
import { feedStoreContract } from './feed-store-contract.js';
import { MemoryFeedStore } from './memory-feed-store.js';

let n = 0;
feedStoreContract(
  'MemoryFeedStore',
  async () => new MemoryFeedStore({ maxItems: 10, maxFeeds: 1000 }),
  () => `m${++n}`,
);

it('evicts the least recently used feed beyond maxFeeds: it reads as missing', async () => {
  const store = new MemoryFeedStore({ maxItems: 10, maxFeeds: 2 });
  const id = newId(1);
  for (const r of ['a', 'b']) await store.finishBuild(r, await store.beginBuild(r), [id]);
  expect(await store.page('a', { limit: 5 })).toEqual([id]); // a is now the most recent
  await store.finishBuild('c', await store.beginBuild('c'), []);
  expect(await store.page('b', { limit: 5 })).toBeUndefined();
  expect(await store.page('a', { limit: 5 })).toEqual([id]);
  expect(await store.page('c', { limit: 5 })).toEqual([]);
});
