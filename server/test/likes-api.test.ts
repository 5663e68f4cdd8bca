import { newId, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf } from '../src/capabilities/events.js';
import type { ShutterNode } from '../src/node.js';
import { likeState, makePost } from './fixtures/likes.js';
import { insertBlock, insertFollow } from './fixtures/posts.js';
import { http, makeUser, makeUsers, shardIn, type TestUser } from './fixtures/social.js';
import { startTestNode } from './helpers/test-node.js';

/**
 * Likes over HTTP on one node over two physical databases: a like is a row
 * in its post's database, the count moves with the rows, retries change
 * nothing, every bad input has its code and changes nothing, and many
 * concurrent likes and unlikes of one post leave count = rows = the users'
 * last requests.
 */
let node: ShutterNode;
const events: EventOf<'likes.changed'>[] = [];

beforeAll(async () => {
  node = await startTestNode('ws');
  node.ports.events.on('likes.changed', (e) => {
    events.push(e);
  });
});
afterAll(() => node?.shutdown());

const like = (u: TestUser, id: string) => http(node, u, 'PUT', `/v1/posts/${id}/like`);
const unlike = (u: TestUser, id: string) => http(node, u, 'DELETE', `/v1/posts/${id}/like`);
const list = (u: TestUser, id: string, q = '') => http(node, u, 'GET', `/v1/posts/${id}/likes${q}`);
const eventsOf = (postId: string) => events.filter((e) => e.postId === postId);

describe('PUT and DELETE /v1/posts/{id}/like', () => {
  it('stores the like in the post database, counts it once, answers the state after the commit', async () => {
    for (const db of [0, 1]) {
      const author = await makeUser(node, { shard: shardIn(node, db) });
      const fan = await makeUser(node, { shard: shardIn(node, 1 - db) });
      const id = await makePost(node, author);

      const first = await like(fan, id);
      expect(first).toEqual({ status: 200, body: { postId: id, liked: true, likeCount: 1 } });
      // A retry (the answer was lost): same answer, nothing changed, no second event.
      expect((await like(fan, id)).body).toEqual({ postId: id, liked: true, likeCount: 1 });
      expect(await likeState(node, id)).toEqual({ likeCount: 1, rows: 1, users: [fan.id] });
      const other = node.db.all.find((d) => d !== node.db.forId(id));
      if (other) expect((await other.query('SELECT 1 FROM likes WHERE post_id = $1', [id])).rows).toEqual([]);
      const liked = eventsOf(id);
      expect(liked).toHaveLength(1);
      expect(liked[0]).toMatchObject({ authorId: author.id, unliked: [], likeCount: 1 });
      expect(liked[0]!.liked).toEqual([{ userId: fan.id, at: expect.any(Number) }]);
      expect(Math.abs(liked[0]!.liked[0]!.at - Date.now())).toBeLessThan(60_000);

      const post = await http(node, fan, 'GET', `/v1/posts/${id}`);
      expect(post.body.post).toMatchObject({ likeCount: 1, likedByMe: true });
      expect((await http(node, author, 'GET', `/v1/posts/${id}`)).body.post.likedByMe).toBe(false);

      expect((await unlike(fan, id)).body).toEqual({ postId: id, liked: false, likeCount: 0 });
      expect((await unlike(fan, id)).body).toEqual({ postId: id, liked: false, likeCount: 0 });
      expect(await likeState(node, id)).toEqual({ likeCount: 0, rows: 0, users: [] });
      expect(eventsOf(id)).toHaveLength(2);
      expect(eventsOf(id)[1]).toEqual({
        type: 'likes.changed',
        postId: id,
        authorId: author.id,
        liked: [],
        unliked: [fan.id],
        likeCount: 0,
      });
      // The author may like their own post.
      expect((await like(author, id)).body).toEqual({ postId: id, liked: true, likeCount: 1 });
    }
  });

  it('refuses every bad input with its code and changes nothing', async () => {
    const me = await makeUser(node);
    const priv = await makeUser(node, { private: true });
    const blocker = await makeUser(node);
    const blockedByMe = await makeUser(node);
    const gone = await makeUser(node);
    const pub = await makeUser(node);
    const posts = {
      priv: await makePost(node, priv),
      blocker: await makePost(node, blocker),
      blockedByMe: await makePost(node, blockedByMe),
      deleted: await makePost(node, pub),
      goneAuthor: await makePost(node, gone),
      live: await makePost(node, pub),
    };
    await insertBlock(node, blocker.id, me.id);
    await insertBlock(node, me.id, blockedByMe.id);
    expect((await http(node, pub, 'DELETE', `/v1/posts/${posts.deleted}`)).status).toBe(200);
    await node.db.forId(gone.id).query('UPDATE users SET deleted_at = now() WHERE id = $1', [gone.id]);
    // Others' likes are there before: a refusal must leave them as they are.
    const someone = await makeUser(node);
    for (const id of [posts.priv, posts.blocker, posts.blockedByMe, posts.deleted, posts.goneAuthor]) {
      await node.db
        .forId(id)
        .query('INSERT INTO likes (post_id, user_id, created_at) VALUES ($1, $2, now())', [id, someone.id]);
      await node.db.forId(id).query('UPDATE posts SET like_count = 1 WHERE id = $1', [id]);
    }
    const missing = newId(shardOfId(pub.id) as number);
    const cases: [string, string, number, string][] = [
      ["someone else's private post", posts.priv, 404, 'not_found'],
      ['a post of someone who blocks me', posts.blocker, 404, 'not_found'],
      ['a post of someone I block', posts.blockedByMe, 404, 'not_found'],
      ['a deleted post', posts.deleted, 404, 'not_found'],
      ['a post of a deleted account', posts.goneAuthor, 404, 'not_found'],
      ['a post that does not exist', missing, 404, 'not_found'],
      ['an id that is no UUIDv7', 'not-an-id', 400, 'bad_request'],
      ['a UUID that is not v7', '8c3e1d4a-9b2f-4e6a-8d1c-2f3b4a5c6d7e', 400, 'bad_request'],
    ];
    const before = events.length;
    for (const [what, id, status, code] of cases) {
      for (const [verb, r] of [
        ['like', await like(me, id)],
        ['unlike', await unlike(me, id)],
        ['list', await list(me, id)],
      ] as const) {
        expect({ what, verb, status: r.status, code: r.body.error?.code }).toEqual({
          what,
          verb,
          status,
          code,
        });
        expect(r.body.error.message.length).toBeGreaterThan(0);
      }
    }
    for (const id of [posts.priv, posts.blocker, posts.blockedByMe, posts.deleted, posts.goneAuthor])
      expect(await likeState(node, id)).toEqual({ likeCount: 1, rows: 1, users: [someone.id] });
    expect(await likeState(node, missing)).toEqual({ likeCount: -1, rows: 0, users: [] });
    expect(events.length).toBe(before);

    // Without a token; with a body field; with a bad cursor or limit.
    expect((await http(node, undefined, 'PUT', `/v1/posts/${posts.live}/like`)).body.error.code).toBe(
      'unauthenticated',
    );
    expect((await http(node, me, 'PUT', `/v1/posts/${posts.live}/like`, { extra: 1 })).body.error.code).toBe(
      'bad_request',
    );
    for (const q of ['?cursor=nope', `?cursor=${Buffer.from('k1:x::').toString('base64url')}`])
      expect((await list(me, posts.live, q)).body.error.code).toBe('invalid_cursor');
    for (const q of ['?limit=0', '?limit=101'])
      expect((await list(me, posts.live, q)).body.error.code).toBe('bad_request');
    expect(await likeState(node, posts.live)).toEqual({ likeCount: 0, rows: 0, users: [] });
    expect(events.length).toBe(before);

    // A follower of the private account may like it.
    await insertFollow(node, me.id, priv.id);
    expect((await like(me, posts.priv)).body).toEqual({ postId: posts.priv, liked: true, likeCount: 2 });
  });

  it('hundreds of concurrent likes and unlikes of one post, with retries: count = rows = the last request of each user', async () => {
    const author = await makeUser(node);
    const id = await makePost(node, author);
    const users = await makeUsers(node, 150);
    const before = events.length;
    let requests = 0;
    const mismatches: string[] = [];
    // Each user sends a random sequence of likes and unlikes, each sent 1–3 times at once (a
    // retry racing the original); all users at once. A user's requests follow each other.
    const last = new Map<string, boolean>();
    await Promise.all(
      users.map(async (u, i) => {
        const steps = 2 + (i % 5);
        for (let s = 0; s < steps; s++) {
          const liked = (i + s * 7) % 3 !== 0;
          const copies = 1 + ((i + s) % 3);
          requests += copies;
          const answers = await Promise.all(
            Array.from({ length: copies }, () => (liked ? like(u, id) : unlike(u, id))),
          );
          for (const a of answers)
            if (a.status !== 200 || a.body.liked !== liked)
              mismatches.push(`${u.id} ${liked}: ${JSON.stringify(a)}`);
          last.set(u.id, liked);
        }
      }),
    );
    expect(mismatches).toEqual([]);
    expect(requests).toBeGreaterThan(600);
    const expected = [...last]
      .filter(([, l]) => l)
      .map(([uid]) => uid)
      .sort();
    expect(await likeState(node, id)).toEqual({
      likeCount: expected.length,
      rows: expected.length,
      users: expected,
    });
    // One event per commit that changed something, in commit order: their sum is the count.
    const mine = events.slice(before).filter((e) => e.postId === id);
    const net = mine.reduce((n, e) => n + e.liked.length - e.unliked.length, 0);
    expect(net).toBe(expected.length);
    expect(mine[mine.length - 1]!.likeCount).toBe(expected.length);
    let running = 0;
    for (const e of mine) {
      running += e.liked.length - e.unliked.length;
      expect(e.likeCount).toBe(running);
    }
    // Group commit: fewer commits than changes.
    const changes = mine.reduce((n, e) => n + e.liked.length + e.unliked.length, 0);
    expect(mine.length).toBeLessThan(changes);
  });
  it('likes of many posts at once share commits; a post deleted meanwhile answers not_found alone and keeps count = rows', async () => {
    // Authors on both databases; each database's likes go through a few lanes of group commits.
    const authors = [
      await makeUser(node, { shard: shardIn(node, 0) }),
      await makeUser(node, { shard: shardIn(node, 1) }),
    ];
    const posts: string[] = [];
    for (let i = 0; i < 24; i++) posts.push(await makePost(node, authors[i % 2]!));
    const doomed = posts[5]!;
    const users = await makeUsers(node, 12);
    const before = events.length;
    const storm = Promise.all(
      posts.flatMap((id) => users.map(async (u) => ({ id, u, r: await like(u, id) }))),
    );
    // Deleted while its likes are in flight: some pass the check and find it deleted at commit.
    await new Promise((r) => setTimeout(r, 20));
    expect((await http(node, authors[1]!, 'DELETE', `/v1/posts/${doomed}`)).status).toBe(200);
    const answers = await storm;
    const all = users.map((u) => u.id).sort();
    const stored: string[] = [];
    for (const { id, u, r } of answers) {
      if (id !== doomed) expect(r.body).toEqual({ postId: id, liked: true, likeCount: expect.any(Number) });
      else if (r.status === 200) stored.push(u.id);
      else expect(r.body.error.code).toBe('not_found');
    }
    for (const id of posts)
      expect(await likeState(node, id)).toEqual(
        id === doomed
          ? { likeCount: stored.length, rows: stored.length, users: stored.sort() }
          : { likeCount: 12, rows: 12, users: all },
      );
    const mine = events.slice(before);
    expect(mine.reduce((n, e) => n + e.liked.length, 0)).toBe(23 * 12 + stored.length);
    // Fewer commits than likes: posts shared transactions, or likes of one post did.
    expect(mine.length).toBeLessThan(23 * 12);
  });
});

describe('GET /v1/posts/{id}/likes', () => {
  it('lists people I follow first, then the rest, newest first, page by page; hides blocked and deleted likers', async () => {
    const me = await makeUser(node, { shard: shardIn(node, 0) });
    const author = await makeUser(node, { shard: shardIn(node, 1) });
    const id = await makePost(node, author);
    const likers = await makeUsers(node, 9);
    const followed = new Set([likers[1]!.id, likers[4]!.id, likers[7]!.id]);
    for (const f of followed) await insertFollow(node, me.id, f);
    const blocked = likers[5]!;
    await insertBlock(node, blocked.id, me.id);
    const deleted = likers[8]!;
    for (const u of [...likers, me]) expect((await like(u, id)).status).toBe(200);
    // Like times a second apart, in that order (the list's order must not hang on clock ties).
    const all10 = [...likers, me];
    for (const [i, u] of all10.entries())
      await node.db
        .forId(id)
        .query(
          `UPDATE likes SET created_at = date_trunc('milliseconds', now()) - $3 * interval '1 second' WHERE post_id = $1 AND user_id = $2`,
          [id, u.id, all10.length - i],
        );
    await node.db.forId(deleted.id).query('UPDATE users SET deleted_at = now() WHERE id = $1', [deleted.id]);

    type Item = { id: string; following: boolean; likedAt: number; username: string };
    /** Every page of the list at `limit`, concatenated. */
    const pageThrough = async (limit: number): Promise<Item[]> => {
      const items: Item[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const r = await list(me, id, `?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(r.status).toBe(200);
        expect(r.body.items.length).toBeLessThanOrEqual(limit);
        items.push(...r.body.items);
        cursor = r.body.nextCursor;
        if (!cursor) break;
      }
      return items;
    };
    const seen = await pageThrough(2);
    const newestFirst = (ids: string[]) =>
      ids.sort((a, b) => likers.findIndex((u) => u.id === b) - likers.findIndex((u) => u.id === a));
    const rest = newestFirst(
      likers.map((u) => u.id).filter((x) => !followed.has(x) && x !== blocked.id && x !== deleted.id),
    );
    expect(seen.map((x) => x.id)).toEqual([...newestFirst([...followed]), me.id, ...rest]);
    expect(
      seen
        .filter((x) => x.following)
        .map((x) => x.id)
        .sort(),
    ).toEqual([...followed].sort());
    const one = seen.find((x) => x.id === likers[0]!.id)!;
    expect(one).toEqual({
      id: likers[0]!.id,
      username: likers[0]!.username,
      displayName: likers[0]!.username.toUpperCase(),
      avatarMediaId: null,
      private: false,
      likedAt: expect.any(Number),
      following: false,
    });
    // Other page sizes (3: the followed group fills the first page exactly), and one page of
    // everything: the same order.
    for (const limit of [1, 3, 4])
      expect((await pageThrough(limit)).map((x) => x.id)).toEqual(seen.map((x) => x.id));
    const all = await list(me, id, '?limit=100');
    expect(all.body.items.map((x: { id: string }) => x.id)).toEqual(seen.map((x) => x.id));
    expect(all.body.nextCursor).toBeNull();
    // Another reader (following no one, blocking no one) sees every liker but the deleted account.
    const theirs = await list(likers[0]!, id, '?limit=100');
    expect(theirs.body.items).toHaveLength(9);
  });
});

describe('likedByMe', () => {
  it('is set in the feed and in post reads for the posts the reader likes', async () => {
    const reader = await makeUser(node, { shard: shardIn(node, 0) });
    const a = await makeUser(node, { shard: shardIn(node, 0) });
    const b = await makeUser(node, { shard: shardIn(node, 1) });
    await insertFollow(node, reader.id, a.id);
    await insertFollow(node, reader.id, b.id);
    const posts = [
      await makePost(node, a),
      await makePost(node, b),
      await makePost(node, a),
      await makePost(node, b),
    ];
    await like(reader, posts[1]!);
    await like(reader, posts[2]!);
    await like(a, posts[1]!);
    const feed = await http(node, reader, 'GET', '/v1/feed?limit=10');
    expect(feed.status).toBe(200);
    const byId = new Map(
      feed.body.items.map((p: { id: string; likedByMe: boolean; likeCount: number }) => [p.id, p]),
    );
    expect(posts.map((p) => byId.get(p))).toMatchObject([
      { likedByMe: false, likeCount: 0 },
      { likedByMe: true, likeCount: 2 },
      { likedByMe: true, likeCount: 1 },
      { likedByMe: false, likeCount: 0 },
    ]);
    const list = await http(node, reader, 'GET', `/v1/users/${b.id}/posts`);
    expect(list.body.items.map((p: { likedByMe: boolean }) => p.likedByMe)).toEqual([false, true]);
  });
});
