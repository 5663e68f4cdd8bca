import { LOGICAL_SHARDS, newId, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainCluster } from './helpers/domain-cluster.js';
import type { NodeProcess } from './helpers/node-process.js';

/**
 * Likes on a two-node cluster over two databases: the post actor of a post
 * lives on the node owning its author's shard, so a like sent to the other
 * node is an ask across the bus. A like through one node and an unlike
 * through the other see each other; likes and unlikes of many users through
 * both nodes at once leave count = rows = each user's last request.
 */
const cluster = new DomainCluster('lkc');
let nodes: NodeProcess[] = [];

beforeAll(async () => {
  nodes = await cluster.start(2);
}, 60_000);
afterAll(() => cluster.teardown(), 60_000);

interface User {
  id: string;
  token: string;
}

let seq = 0;
async function user(shard: number): Promise<User> {
  const id = newId(shard);
  await cluster.dbOf(id).query('INSERT INTO users (id, username) VALUES ($1, $2)', [id, `lk${seq++}`]);
  return { id, token: (await cluster.minter.mint(id, 600)).token };
}

/** A post row of `author`, written straight into the author's database. */
async function post(author: User): Promise<string> {
  const id = newId(shardOfId(author.id) as number);
  await cluster
    .dbOf(id)
    .query(`INSERT INTO posts (id, author_id, media_ids) VALUES ($1, $2, ARRAY['m_x'])`, [id, author.id]);
  return id;
}

/**
 * A like or unlike over HTTP. A request on a kept-alive connection the node
 * closed at that moment (its idle timeout) fails with ECONNRESET before it
 * was read; a like may be retried at any time, so it is sent again, as a
 * client would.
 */
async function call(node: NodeProcess, u: User, method: 'PUT' | 'DELETE', postId: string) {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await fetch(`${node.url}/v1/posts/${postId}/like`, {
        method,
        headers: { authorization: `Bearer ${u.token}` },
      });
      return { status: r.status, body: (await r.json()) as { liked: boolean; likeCount: number } };
    } catch (e) {
      if (attempt >= 2 || (e as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw e;
    }
  }
}

async function state(postId: string): Promise<{ likeCount: number; users: string[] }> {
  const db = cluster.dbOf(postId);
  const p = await db.query<{ like_count: number }>('SELECT like_count FROM posts WHERE id = $1', [postId]);
  const l = await db.query<{ u: string }>(
    'SELECT user_id::text AS u FROM likes WHERE post_id = $1 ORDER BY user_id',
    [postId],
  );
  return { likeCount: p.rows[0]?.like_count ?? -1, users: l.rows.map((x) => x.u) };
}

describe('likes on a cluster', () => {
  it('a like through one node and an unlike through the other, for posts owned by either node', async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    await cluster.settled([a, b]);
    // Authors spread over the whole shard range: both databases, both nodes' shares of the shard map.
    const posts: string[] = [];
    for (let i = 0; i < 8; i++)
      posts.push(await post(await user(Math.floor(((i + 0.5) * LOGICAL_SHARDS) / 8))));
    const fan = await user(100);
    for (const id of posts) {
      expect((await call(a, fan, 'PUT', id)).body).toMatchObject({ liked: true, likeCount: 1 });
      expect((await call(b, fan, 'PUT', id)).body).toMatchObject({ liked: true, likeCount: 1 });
      expect(await state(id)).toEqual({ likeCount: 1, users: [fan.id] });
      expect((await call(b, fan, 'DELETE', id)).body).toMatchObject({ liked: false, likeCount: 0 });
      expect((await call(a, fan, 'DELETE', id)).body).toMatchObject({ liked: false, likeCount: 0 });
      expect(await state(id)).toEqual({ likeCount: 0, users: [] });
    }
  });

  it('many users liking and unliking one post through both nodes at once: count = rows = last requests', async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const id = await post(await user(700));
    const users = await Promise.all(Array.from({ length: 120 }, (_, i) => user((i * 37) % LOGICAL_SHARDS)));
    const last = new Map<string, boolean>();
    const wrong: string[] = [];
    await Promise.all(
      users.map(async (u, i) => {
        for (let s = 0; s < 3 + (i % 3); s++) {
          const liked = (i + s) % 4 !== 1;
          // The same request through both nodes at once (a retry after a lost answer, elsewhere).
          const answers = await Promise.all([a, b].map((n) => call(n, u, liked ? 'PUT' : 'DELETE', id)));
          for (const r of answers)
            if (r.status !== 200 || r.body.liked !== liked) wrong.push(JSON.stringify(r));
          last.set(u.id, liked);
        }
      }),
    );
    expect(wrong).toEqual([]);
    const expected = [...last]
      .filter(([, l]) => l)
      .map(([u]) => u)
      .sort();
    expect(await state(id)).toEqual({ likeCount: expected.length, users: expected });
  });
});
