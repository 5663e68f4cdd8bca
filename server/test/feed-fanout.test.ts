import { feedStream } from '@shutter/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { makeUser, makeUsers } from './fixtures/social.js';
import { FeedWorld } from './helpers/feed-world.js';
import { startTestNode } from './helpers/test-node.js';

/**
 * Fan-out on write runs in a durable job, in bounded batches, and a job that
 * fails half-way is retried to the same end: every follower's feed holds
 * the post once.
 */
let node: ShutterNode;
let w: FeedWorld;

beforeAll(async () => {
  node = await startTestNode('ws', { FEED_FANOUT_BATCH: '2' });
  w = new FeedWorld(node);
});
afterAll(() => node?.shutdown());

it('walks the followers two at a time; a failure after the first batch is retried, each feed gets the post once', async () => {
  const author = await makeUser(node);
  const fans = await makeUsers(node, 5);
  for (const f of fans) await w.follow(f, author);
  for (const u of [author, ...fans]) expect((await w.page(u)).body.items).toEqual([]); // built, empty

  const store = node.ports.feeds;
  const add = store.add.bind(store);
  const batches: number[] = [];
  let failed = false;
  store.add = async (entries) => {
    batches.push(entries.length);
    // The second follower batch (after the author's own feed and the first batch) fails, once.
    if (batches.length === 3 && !failed) {
      failed = true;
      throw new Error('injected: the store fails mid-way');
    }
    return add(entries);
  };
  let post: string;
  try {
    post = await w.post(author);
    await w.settled();
  } finally {
    store.add = add;
  }
  expect(failed).toBe(true);
  // First attempt: own feed, batch of 2, then the failing batch; the retry: own, 2, 2, 1.
  expect(batches).toEqual([1, 2, 2, 1, 2, 2, 1]);
  const job = await node.sql.query<{ status: string; attempts: number }>(
    `SELECT status, attempts FROM job_queue WHERE queue = 'feed-fanout' AND id = $1`,
    [`add-${post}`],
  );
  expect(job.rows).toEqual([{ status: 'done', attempts: 2 }]);
  for (const u of [author, ...fans]) expect(await store.page(u.id, { limit: 10 })).toEqual([post]);
  // Live events go out per batch: the followers of the first batch got theirs twice (at least once).
  const seqs = await Promise.all(
    fans.map(async (f) => (await node.hub.publish(feedStream(f.id), {})).seq - 1),
  );
  expect(seqs.filter((n) => n === 2)).toHaveLength(2);
  expect(seqs.filter((n) => n === 1)).toHaveLength(3);
});
