import { newId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphReads, mayView } from '../src/capabilities/graph/edges.js';
import { visiblePostAuthor } from '../src/capabilities/posts/visible-post.js';
import type { ShutterNode } from '../src/node.js';
import { insertBlock, insertFollow, makePost } from './fixtures/posts.js';
import { makeUser, shardIn, type TestUser } from './fixtures/social.js';
import { countQueries } from './helpers/count-queries.js';
import { startTestNode } from './helpers/test-node.js';

/**
 * `visiblePostAuthor` answers from the author's side of the graph, in one
 * query in the post's database; the rule it must equal is `mayView` over the
 * viewer's own rows (what every read of posts goes by). Every pair of a
 * small world is checked against it: public and private authors on either
 * database, active and pending follows, blocks either way, deleted posts
 * and deleted authors.
 */
let node: ShutterNode;
beforeAll(async () => {
  node = await startTestNode('ws');
});
afterAll(() => node?.shutdown());

describe('visiblePostAuthor', () => {
  it('equals mayView from the viewer’s rows for every viewer and post, in one query', async () => {
    const authors: { user: TestUser; private: boolean }[] = [];
    for (const db of [0, 1])
      for (const priv of [false, true])
        authors.push({
          user: await makeUser(node, { shard: shardIn(node, db), private: priv }),
          private: priv,
        });
    const viewers: TestUser[] = [];
    for (const db of [0, 1])
      for (let i = 0; i < 5; i++) viewers.push(await makeUser(node, { shard: shardIn(node, db) }));
    // Viewer i toward each author: 0 nothing, 1 follows, 2 pending, 3 blocks the author, 4 blocked by the author.
    for (const [i, v] of viewers.entries())
      for (const a of authors) {
        const kind = i % 5;
        if (kind === 1) await insertFollow(node, v.id, a.user.id);
        if (kind === 2) await insertFollow(node, v.id, a.user.id, 'pending');
        if (kind === 3) await insertBlock(node, v.id, a.user.id);
        if (kind === 4) await insertBlock(node, a.user.id, v.id);
      }
    const posts: { id: string; author: { id: string; private: boolean }; live: boolean }[] = [];
    for (const a of authors) {
      posts.push({
        id: await makePost(node, a.user),
        author: { id: a.user.id, private: a.private },
        live: true,
      });
      const gone = await makePost(node, a.user);
      await node.db.forId(gone).query('UPDATE posts SET deleted_at = now() WHERE id = $1', [gone]);
      posts.push({ id: gone, author: { id: a.user.id, private: a.private }, live: false });
    }
    // An author whose account is deleted: their live post is hidden from everyone but nobody asks as them.
    const leaver = await makeUser(node);
    const orphan = await makePost(node, leaver);
    await node.db.forId(leaver.id).query('UPDATE users SET deleted_at = now() WHERE id = $1', [leaver.id]);

    let visible = 0;
    const graph = new GraphReads(node.db);
    for (const v of [...viewers, ...authors.map((a) => a.user)])
      for (const p of posts) {
        const expected = p.live && mayView(v.id, p.author, await graph.viewerRelations(v.id, [p.author.id]));
        const { result, total } = await countQueries(node, () => visiblePostAuthor(node.db, v.id, p.id));
        expect({ viewer: v.id, post: p.id, visible: result !== undefined }).toEqual({
          viewer: v.id,
          post: p.id,
          visible: expected,
        });
        if (expected) expect(result).toBe(p.author.id);
        expect(total).toBe(1);
        if (expected) visible++;
      }
    // The matrix is not trivial: some pairs of each answer.
    expect(visible).toBeGreaterThan(10);
    expect(visible).toBeLessThan(((viewers.length + authors.length) * posts.length) / 2);
    for (const v of viewers) expect(await visiblePostAuthor(node.db, v.id, orphan)).toBeUndefined();
    expect(await visiblePostAuthor(node.db, viewers[0]!.id, newId(0))).toBeUndefined();
  });
});
