import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PulledPosts } from '../src/capabilities/feed/pulled.js';
import { readFeed } from '../src/capabilities/feed/read.js';
import type { ShutterNode } from '../src/node.js';
import type { Sql } from '../src/sql/index.js';
import { http, makeUser, makeUsers, shardIn, type TestUser } from './fixtures/social.js';
import { FeedWorld } from './helpers/feed-world.js';
import { startTestNode } from './helpers/test-node.js';

/**
 * A feed page costs a fixed number of queries, whatever its size (issue 9
 * §5): counted on the node's two databases for pages of 5 and of 50, with
 * fanned-out and pulled posts, warm and on a rebuild. And an account
 * deletion takes the account's posts out of its followers' feeds.
 */
const THRESHOLD = 3;
let node: ShutterNode;
let w: FeedWorld;

beforeAll(async () => {
  node = await startTestNode('ws', { FEED_FANOUT_THRESHOLD: String(THRESHOLD), FEED_AUTHOR_CACHE_MS: '0' });
  w = new FeedWorld(node);
});
afterAll(() => node?.shutdown());

const counting = new AsyncLocalStorage<number[]>();
async function countQueries<T>(fn: () => Promise<T>): Promise<{ result: T; total: number }> {
  const counts = node.db.all.map(() => 0);
  const originals = node.db.all.map((sql) => sql.query);
  node.db.all.forEach((sql, i) => {
    const orig = sql.query.bind(sql);
    sql.query = ((text: string, params?: readonly unknown[]) => {
      const mine = counting.getStore();
      if (mine) mine[i] = (mine[i] ?? 0) + 1;
      return orig(text, params);
    }) as Sql['query'];
  });
  try {
    const result = await counting.run(counts, fn);
    return { result, total: counts.reduce((a, b) => a + b, 0) };
  } finally {
    node.db.all.forEach((sql, i) => {
      sql.query = originals[i] as Sql['query'];
    });
  }
}

it('reads a page of 5 and a page of 50 with the same number of queries, warm and on a rebuild', async () => {
  expect(node.db.all).toHaveLength(2);
  const reader = await makeUser(node);
  // Authors on both databases; the last 4 are followed by 3 more users each: big (pulled).
  const authors: TestUser[] = [];
  for (let i = 0; i < 24; i++) authors.push(await makeUser(node, { shard: shardIn(node, i % 2) }));
  const fans = await makeUsers(node, THRESHOLD);
  for (const a of authors) await w.follow(reader, a);
  for (const a of authors.slice(-4)) for (const f of fans) await w.follow(f, a);
  for (const a of authors) for (let k = 0; k < 3; k++) await w.post(a);
  await w.settled();
  const parts = { store: node.ports.feeds, pulled: new PulledPosts(node.db, 0, Date.now) };
  const read = (limit: number) => readFeed(node.ports, parts, reader.id, { limit });

  await read(1); // built
  const five = await countQueries(() => read(5));
  const fifty = await countQueries(() => read(50));
  expect(five.result.items).toHaveLength(5);
  expect(fifty.result.items).toHaveLength(50);
  expect(fifty.result.liveAuthors.sort()).toEqual(
    authors
      .slice(-4)
      .map((a) => a.id)
      .sort(),
  );
  // Pulled posts are in the page.
  const big = new Set(authors.slice(-4).map((a) => a.id));
  expect(fifty.result.items.some((p) => big.has(p.author.id))).toBe(true);
  expect(fifty.total).toBe(five.total);

  await node.ports.feeds.drop([reader.id]);
  const rebuild5 = await countQueries(() => read(5));
  await node.ports.feeds.drop([reader.id]);
  const rebuild50 = await countQueries(() => read(50));
  expect(rebuild50.total).toBe(rebuild5.total);
  // A rebuild adds one query per database.
  expect(rebuild5.total).toBe(five.total + node.db.all.length);
  console.log(`feed page queries on 2 databases: warm ${five.total}, rebuild ${rebuild5.total}`);
});

it('takes a deleted account’s posts out of its followers’ feeds, and drops its own feed', async () => {
  const username = `gone_${Date.now().toString(36)}`;
  const password = 'correct horse battery staple 9';
  const reg = await http(node, undefined, 'POST', '/v1/accounts', { username, password });
  expect(reg.status, JSON.stringify(reg.body)).toBe(201);
  const gone: TestUser = { id: reg.body.user.id, username, token: reg.body.accessToken };
  const [fan, other] = await makeUsers(node, 2);
  await w.follow(fan!, gone);
  await w.follow(fan!, other!);
  await w.follow(gone, other!);
  const kept = await w.post(other!);
  await w.post(gone);
  await w.post(gone);
  await w.settled();
  expect((await w.all(fan!, 10)).ids).toHaveLength(3);
  expect(await node.ports.feeds.page(gone.id, { limit: 10 })).toBeUndefined(); // never read: not built
  expect((await w.all(gone, 10)).ids).toHaveLength(3);

  const del = await http(node, gone, 'DELETE', '/v1/me', { password });
  expect(del.status, JSON.stringify(del.body)).toBe(200);
  // The capabilities' deletion work may finish after the answer: wait for its last step (posts).
  for (let i = 0; i < 200; i++) {
    const r = await node.db
      .forId(gone.id)
      .query('SELECT 1 FROM posts WHERE author_id = $1 AND deleted_at IS NULL', [gone.id]);
    if (r.rows.length === 0) break;
    await new Promise((res) => setTimeout(res, 25));
  }
  await w.settled();
  expect((await w.all(fan!, 10)).ids).toEqual([kept]);
  expect(await node.ports.feeds.page(fan!.id, { limit: 10 })).toEqual([kept]);
  expect(await node.ports.feeds.page(gone.id, { limit: 10 })).toBeUndefined();
});
