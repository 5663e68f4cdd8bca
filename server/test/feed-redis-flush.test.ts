import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { makeUser, makeUsers, type TestUser } from './fixtures/social.js';
import { FeedWorld } from './helpers/feed-world.js';
import { startTestNode } from './helpers/test-node.js';
import { redisUrl } from './services.js';

/**
 * Issue 9 must-show: Redis flushed mid-test, feeds come back correct. The
 * node keeps its feeds (and stream histories) under its own namespace in
 * the shared Redis; "flushing" deletes every key of that namespace, never
 * anyone else's. Once while idle, once while fan-out jobs are running.
 */
let node: ShutterNode;
let w: FeedWorld;
let redis: Redis;
let ns: string;

beforeAll(async () => {
  // A small threshold, so the flushed world has both fanned-out and pulled posts.
  node = await startTestNode('ws', {
    REDIS_URL: redisUrl,
    FEED_FANOUT_THRESHOLD: '4',
    FEED_AUTHOR_CACHE_MS: '0',
  });
  w = new FeedWorld(node);
  ns = node.config.services.namespace;
  redis = new Redis(redisUrl);
});
afterAll(async () => {
  await flush();
  await redis?.quit();
  await node?.shutdown();
  // NAMESPACE was given, so the test node leaves its schemas: drop them here.
  for (const sql of node?.db.all ?? [])
    await sql.query(`DROP SCHEMA IF EXISTS ${ns} CASCADE`).catch(() => {});
});

/** Deletes every key of this node's namespace; answers how many feeds were among them. */
async function flush(): Promise<number> {
  let feeds = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${ns}:*`, 'COUNT', 500);
    cursor = next;
    feeds += keys.filter((k) => k.startsWith(`${ns}:feed:`)).length;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  return feeds;
}

async function checkAll(users: TestUser[], limit: number): Promise<number> {
  const expected = await w.expected(users);
  let items = 0;
  for (const u of users) {
    const { ids } = await w.all(u, limit);
    expect(ids).toEqual(expected.get(u.id));
    items += ids.length;
  }
  return items;
}

it('rebuilds every feed from Postgres after its Redis keys are deleted, idle and during fan-out', async () => {
  // One first: makeUsers migrates the users table from each of its parallel calls, which on a fresh
  // node takes more connections than the pool has (12 at once hang).
  const star = await makeUser(node);
  const rest = await makeUsers(node, 11);
  const users = [star, ...rest];
  // Everyone follows the star (big: pulled); each follows the next two (small: fanned out).
  for (const [i, u] of rest.entries()) {
    await w.follow(u, star);
    await w.follow(u, rest[(i + 1) % rest.length]!);
    await w.follow(u, rest[(i + 2) % rest.length]!);
  }
  const first: string[] = [];
  for (const u of users) for (let k = 0; k < 3; k++) first.push(await w.post(u));
  await w.deletePost(rest[0]!, first[3]!);
  await w.settled();
  const before = await checkAll(users, 7);
  expect(before).toBeGreaterThan(users.length * 3);

  // Idle: every feed is gone from Redis; each read rebuilds it, exact.
  expect(await flush()).toBe(users.length);
  for (const u of users) expect(await node.ports.feeds.page(u.id, { limit: 1 })).toBeUndefined();
  expect(await checkAll(users, 5)).toBe(before);

  // During fan-out: posts whose jobs are queued or running when the keys go.
  for (const u of rest.slice(0, 6)) await w.post(u);
  await flush();
  await w.post(star);
  await w.settled();
  // Each small post: its author's feed and two followers'; the star's: theirs and all 11 followers'.
  expect(await checkAll(users, 4)).toBe(before + 6 * 3 + 1 + rest.length);
  // And the rebuilt feeds take new posts by fan-out again.
  const fresh = await w.post(rest[5]!);
  await w.settled();
  expect((await node.ports.feeds.page(rest[4]!.id, { limit: 1 }))?.[0]).toBe(fresh);
  await checkAll(users, 9);
});
