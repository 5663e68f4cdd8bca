import { randomBytes } from 'node:crypto';
import { LOGICAL_SHARDS, newId, type Post, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgSql } from '../src/sql/index.js';
import { DomainCluster } from './helpers/domain-cluster.js';
import type { NodeProcess } from './helpers/node-process.js';

/**
 * Posts on a two-node cluster over two databases: the post actor of a post
 * lives on the node that owns its author's shard, so a create sent to the
 * other node is an ask across the bus. The same create sent to both nodes
 * at once is still one row and one count, in the author's database.
 */
const AUTHORS = 8;
const cluster = new DomainCluster('pcl');
const minter = cluster.minter;
let nodes: NodeProcess[] = [];
let dbA: PgSql;
let dbB: PgSql;
const dbOf = (id: string) => cluster.dbOf(id);

beforeAll(async () => {
  nodes = await cluster.start(2);
  ({ dbA, dbB } = cluster);
}, 60_000);
afterAll(() => cluster.teardown(), 60_000);

async function call(node: NodeProcess, token: string, method: string, path: string, body?: unknown) {
  const r = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as { post: Post } };
}

async function readyMedia(ownerId: string): Promise<string> {
  const id = `m_${randomBytes(12).toString('base64url')}`;
  const variants = [
    {
      size: 320,
      format: 'webp',
      key: `media/v/${randomBytes(32).toString('hex')}.webp`,
      bytes: 10,
      width: 320,
      height: 240,
    },
  ];
  await dbA.query(
    `INSERT INTO media_items (id, owner_id, status, original_key, original_bytes, declared_type, width, height, variants, placeholder, ready_at)
     VALUES ($1, $2, 'ready', $3, 10, 'image/jpeg', 1600, 1200, $4::jsonb, 'abc', now())`,
    [id, ownerId, `originals/${id}`, JSON.stringify(variants)],
  );
  return id;
}

describe('posts on a cluster', () => {
  it('a create sent to both nodes at once is one row and one count in the author database; reads and deletes from either node', async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    await cluster.settled([a, b]);
    const authors: { id: string; token: string }[] = [];
    for (let i = 0; i < AUTHORS; i++) {
      // Shards spread over the whole range: both databases, and both nodes' shares of the shard map.
      const id = newId(Math.floor(((i + 0.5) * LOGICAL_SHARDS) / AUTHORS));
      await dbOf(id).query('INSERT INTO users (id, username) VALUES ($1, $2)', [id, `pc${i}`]);
      authors.push({ id, token: (await minter.mint(id, 600)).token });
    }
    const posts = await Promise.all(
      authors.map(async (u) => ({ u, id: newId(shardOfId(u.id) as number), media: await readyMedia(u.id) })),
    );
    const answers = await Promise.all(
      posts.flatMap(({ u, id, media }) =>
        [a, b, a, b].map((n) =>
          call(n, u.token, 'POST', '/v1/posts', { id, mediaIds: [media], caption: `#c ${id}` }),
        ),
      ),
    );
    expect(answers.map((x) => x.status)).toEqual(answers.map(() => 201));
    for (const { u, id } of posts) {
      const same = answers.filter((x) => x.body.post.id === id);
      expect(same).toHaveLength(4);
      // The same post from either node; only the URLs' signatures differ (each node signs local-store
      // URLs with its own random MEDIA_SIGNING_SECRET when none is configured).
      const unsigned = (p: Post) => JSON.stringify(p).replace(/X-Shutter-Signature=[^"&]+/g, '');
      for (const x of same) expect(unsigned(x.body.post)).toBe(unsigned(same[0]!.body.post));
      const db = dbOf(u.id);
      const other = db === dbA ? dbB : dbA;
      expect((await db.query('SELECT post_count FROM users WHERE id = $1', [u.id])).rows[0]).toEqual({
        post_count: 1,
      });
      expect((await db.query('SELECT 1 FROM posts WHERE id = $1', [id])).rowCount).toBe(1);
      expect((await other.query('SELECT 1 FROM posts WHERE author_id = $1', [u.id])).rowCount).toBe(0);
      expect((await call(b, authors[0]!.token, 'GET', `/v1/posts/${id}`)).body.post.hashtags).toEqual(['c']);
    }
    // Deletes through either node, twice each: one count down.
    const deletes = await Promise.all(
      posts.flatMap(({ u, id }) => [a, b].map((n) => call(n, u.token, 'DELETE', `/v1/posts/${id}`))),
    );
    expect(deletes.map((x) => x.status)).toEqual(deletes.map(() => 200));
    for (const { u } of posts)
      expect((await dbOf(u.id).query('SELECT post_count FROM users WHERE id = $1', [u.id])).rows[0]).toEqual({
        post_count: 0,
      });
    // Both nodes hosted post actors: the asks crossed between them.
    expect(await cluster.gauge(a, 'shutter_actors_activations')).toBeGreaterThan(0);
    expect(await cluster.gauge(b, 'shutter_actors_activations')).toBeGreaterThan(0);
  });
});
