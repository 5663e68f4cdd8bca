import { newId, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf } from '../src/capabilities/events.js';
import { UNLIKE_BATCH } from '../src/capabilities/likes/user-deleted.js';
import type { ShutterNode } from '../src/node.js';
import { likeState, makePost } from './fixtures/likes.js';
import { http, makeUser, shardIn } from './fixtures/social.js';
import { startTestNode } from './helpers/test-node.js';

/**
 * An account deletion removes the account's likes from every database and
 * lowers each post's count with them (the registry's `userDeleted`, which
 * the deletion job runs), leaving others' likes alone.
 */
let node: ShutterNode;
beforeAll(async () => {
  node = await startTestNode('ws');
});
afterAll(() => node?.shutdown());

describe("likes' onUserDeleted", () => {
  it('removes every like of the account on both databases and fixes the counts, once', async () => {
    const leaving = await makeUser(node);
    const staying = await makeUser(node);
    const authors = [
      await makeUser(node, { shard: shardIn(node, 0) }),
      await makeUser(node, { shard: shardIn(node, 1) }),
    ];
    const posts: string[] = [];
    for (const a of authors) for (let i = 0; i < 3; i++) posts.push(await makePost(node, a));
    for (const id of posts) {
      expect((await http(node, leaving, 'PUT', `/v1/posts/${id}/like`)).status).toBe(200);
      expect((await http(node, staying, 'PUT', `/v1/posts/${id}/like`)).status).toBe(200);
    }
    // One of them deleted since: its like goes too, and its count follows.
    expect((await http(node, authors[1]!, 'DELETE', `/v1/posts/${posts[5]}`)).status).toBe(200);
    // More likes than one statement takes, in the first database (rows written straight in).
    const author = authors[0]!;
    const many = Array.from({ length: UNLIKE_BATCH + 120 }, (_, i) =>
      newId(shardOfId(author.id) as number, Date.now() - 1000 - i),
    );
    const sql = node.db.forId(author.id);
    await sql.query(
      `INSERT INTO posts (id, author_id, media_ids, like_count) SELECT x, $2, ARRAY['m_x'], 1 FROM unnest($1::uuid[]) AS x`,
      [many, author.id],
    );
    await sql.query(
      `INSERT INTO likes (post_id, user_id, created_at) SELECT x, $2, now() FROM unnest($1::uuid[]) AS x`,
      [many, leaving.id],
    );
    const events: EventOf<'likes.changed'>[] = [];
    node.ports.events.on('likes.changed', (e) => {
      events.push(e);
    });

    await node.ports.userDeleted(leaving.id);

    for (const id of posts)
      expect(await likeState(node, id)).toEqual({ likeCount: 1, rows: 1, users: [staying.id] });
    const left = await sql.query<{ n: number; total: number }>(
      'SELECT count(likes.post_id)::int AS n, sum(like_count)::int AS total FROM likes RIGHT JOIN posts ON posts.id = likes.post_id WHERE posts.id = ANY($1::uuid[])',
      [many],
    );
    expect(left.rows[0]).toEqual({ n: 0, total: 0 });
    for (const db of node.db.all)
      expect((await db.query('SELECT 1 FROM likes WHERE user_id = $1', [leaving.id])).rows).toEqual([]);
    expect(events.map((e) => e.postId).sort()).toEqual([...posts, ...many].sort());
    for (const e of events) expect(e).toMatchObject({ liked: [], unliked: [leaving.id] });
    expect(events.find((e) => e.postId === posts[0])).toMatchObject({
      authorId: authors[0]!.id,
      likeCount: 1,
    });

    // Run again (a retried deletion job): nothing left, nothing emitted.
    await node.ports.userDeleted(leaving.id);
    expect(events).toHaveLength(posts.length + many.length);
  });
});
