import { newId, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../src/capabilities/events.js';
import { hydratePosts } from '../src/capabilities/posts/hydrate.js';
import { DELETE_BATCH, deleteUsersPosts } from '../src/capabilities/posts/user-deleted.js';
import type { ShutterNode } from '../src/node.js';
import { insertBlock, insertFollow, insertMedia, postState } from './fixtures/posts.js';
import { http, makeUser, shardIn, type TestUser } from './fixtures/social.js';
import { countQueries } from './helpers/count-queries.js';
import { startTestNode } from './helpers/test-node.js';

let node: ShutterNode;
beforeAll(async () => {
  node = await startTestNode('ws');
});
afterAll(() => node?.shutdown());

async function post(author: TestUser, media = 1): Promise<string> {
  const mediaIds = await Promise.all(Array.from({ length: media }, () => insertMedia(node, author.id)));
  const r = await http(node, author, 'POST', '/v1/posts', { mediaIds, caption: `by ${author.username}` });
  expect(r.status).toBe(201);
  return r.body.post.id;
}

describe('hydratePosts', () => {
  it('reads a page with the same number of queries for 5 posts as for 50, in the order given, without hidden ones', async () => {
    const viewer = await makeUser(node, { shard: shardIn(node, 0) });
    // Authors on both databases: public, private followed, private not followed, blocking the viewer.
    const authors: TestUser[] = [];
    for (const db of [0, 1])
      for (const opts of [{}, { private: true }])
        authors.push(await makeUser(node, { shard: shardIn(node, db), ...opts }));
    const [pub0, privFollowed0, pub1, privFollowed1] = authors as [TestUser, TestUser, TestUser, TestUser];
    await insertFollow(node, viewer.id, privFollowed0.id);
    await insertFollow(node, viewer.id, privFollowed1.id);
    const hiddenPriv = await makeUser(node, { private: true, shard: shardIn(node, 1) });
    const blocker = await makeUser(node, { shard: shardIn(node, 0) });
    await insertBlock(node, blocker.id, viewer.id);
    // An avatar is hydrated in the same media query.
    const avatar = await insertMedia(node, pub1.id);
    await node.db
      .forId(pub1.id)
      .query('UPDATE users SET avatar_media_id = $1 WHERE id = $2', [avatar, pub1.id]);

    const visible: string[] = [];
    const rounds = [pub0, privFollowed0, pub1, privFollowed1];
    for (let i = 0; i < 52; i++) visible.push(await post(rounds[i % 4]!, 1 + (i % 3)));
    const hidden = [await post(hiddenPriv), await post(blocker)];
    const deleted = visible.pop()!;
    expect((await http(node, rounds[51 % 4]!, 'DELETE', `/v1/posts/${deleted}`)).status).toBe(200);

    // The page asked: visible ones in a scrambled order, with hidden, deleted and unknown ids among them.
    const scrambled = [...visible].sort((a, b) => (a.slice(-6) < b.slice(-6) ? -1 : 1));
    const unknown = newId(shardOfId(pub0.id) as number);
    const ask = (n: number) => {
      const page = scrambled.slice(0, n);
      return [page[0]!, hidden[0]!, ...page.slice(1), deleted, hidden[1]!, unknown];
    };

    // The viewer likes some of the page's posts, on both databases (a like lives with its post).
    const likedIds = new Set(scrambled.filter((_, i) => i % 3 === 0).slice(0, 12));
    for (const id of likedIds)
      expect((await http(node, viewer, 'PUT', `/v1/posts/${id}/like`)).body.liked).toBe(true);
    expect(new Set([...likedIds].map((id) => node.db.forId(id))).size).toBe(node.db.all.length);

    const five = await countQueries(node, () => hydratePosts(node.ports, viewer.id, ask(5)));
    const fifty = await countQueries(node, () => hydratePosts(node.ports, viewer.id, ask(50)));
    expect(five.result.map((p) => p.id)).toEqual(scrambled.slice(0, 5));
    expect(fifty.result.map((p) => p.id)).toEqual(scrambled.slice(0, 50));
    // posts, authors and the viewer's likes (one per database each), the viewer's graph rows (one), media (one).
    expect(fifty.total).toBe(five.total);
    expect(fifty.perDb).toEqual(five.perDb);
    expect(fifty.total).toBe(3 * node.db.all.length + 2);
    for (const p of fifty.result) {
      expect(p.likedByMe).toBe(likedIds.has(p.id));
      expect(p.likeCount).toBe(likedIds.has(p.id) ? 1 : 0);
    }

    const withAvatar = fifty.result.find((p) => p.author.id === pub1.id)!;
    expect(withAvatar.author.avatar?.mediaId).toBe(avatar);
    expect(withAvatar.author.avatar?.variants).toHaveLength(4);
    const carousel = fifty.result.find((p) => p.media.length === 3)!;
    expect(carousel.media.every((m) => m.variants.length === 4 && m.placeholder)).toBe(true);
  });

  it('is empty for no ids, and answers variant URLs the node serves', async () => {
    const alice = await makeUser(node);
    expect(await hydratePosts(node.ports, alice.id, [])).toEqual([]);
    const id = await post(alice);
    const [p] = await hydratePosts(node.ports, alice.id, [id]);
    const variant = p!.media[0]!.variants[0]!;
    const item = (await node.ports.media.many([p!.media[0]!.mediaId]))[0]!;
    const key = item.variants.find((v) => v.size === variant.size && v.format === variant.format)!.key;
    const bytes = new TextEncoder().encode('pretend these are webp bytes');
    await node.ports.blobs.put(key, bytes, { contentType: 'image/webp', size: bytes.length });
    const url = new URL(variant.url, node.url);
    // Valid for a day at least, expiring on a whole hour: the next read answers the same URL (cacheable).
    const expires = Number(url.searchParams.get('X-Shutter-Expires'));
    expect(expires % 3600).toBe(0);
    expect(expires * 1000 - Date.now()).toBeGreaterThanOrEqual(24 * 3600 * 1000 - 5000);
    const [again] = await hydratePosts(node.ports, alice.id, [id]);
    expect(again!.media[0]!.variants[0]!.url).toBe(variant.url);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });
});

describe("posts' onUserDeleted", () => {
  it('marks every post of the user deleted in batches, emitting post.deleted for each', async () => {
    const alice = await makeUser(node);
    const bob = await makeUser(node);
    const bobs = await post(bob);
    const n = DELETE_BATCH * 2 + 37;
    const ids = Array.from({ length: n }, (_, i) => newId(shardOfId(alice.id) as number, Date.now() - i));
    const media = await insertMedia(node, alice.id);
    const sql = node.db.forId(alice.id);
    await sql.query(
      `INSERT INTO posts (id, author_id, media_ids) SELECT x, $2, ARRAY[$3] FROM unnest($1::uuid[]) AS x`,
      [ids, alice.id, media],
    );
    await sql.query('UPDATE users SET post_count = $2 WHERE id = $1', [alice.id, n]);
    const events: DomainEvent[] = [];
    node.ports.events.on('post.deleted', (e) => {
      events.push(e);
    });

    await deleteUsersPosts(node.ports, alice.id);

    expect(await postState(node, alice.id)).toEqual({ postCount: 0, rows: n, live: 0 });
    const mine = events.filter((e) => e.type === 'post.deleted' && e.authorId === alice.id);
    expect(new Set(mine.map((e) => (e as { postId: string }).postId))).toEqual(new Set(ids));
    expect(mine).toHaveLength(n);
    expect(await postState(node, bob.id)).toEqual({ postCount: 1, rows: 1, live: 1 });
    expect((await http(node, bob, 'GET', `/v1/posts/${bobs}`)).status).toBe(200);
    // Run again (a retried account deletion): nothing left to do, nothing emitted.
    await deleteUsersPosts(node.ports, alice.id);
    expect(events.filter((e) => e.type === 'post.deleted' && e.authorId === alice.id)).toHaveLength(n);
  });
});
