import { authorPostsStream, feedStream } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { makeUser, makeUsers, type TestUser } from './fixtures/social.js';
import { FeedWorld } from './helpers/feed-world.js';
import { RawClient } from './helpers/raw-client.js';
import { startTestNode, wsUrl } from './helpers/test-node.js';

/** Authors with this many followers or more are pulled at read (a small figure, so tests cross it). */
const THRESHOLD = 3;

let node: ShutterNode;
let w: FeedWorld;
const clients: RawClient[] = [];

beforeAll(async () => {
  node = await startTestNode('ws', { FEED_FANOUT_THRESHOLD: String(THRESHOLD), FEED_AUTHOR_CACHE_MS: '0' });
  w = new FeedWorld(node);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await node?.shutdown();
});

const ids = (body: { items: { id: string }[] }) => body.items.map((p) => p.id);
const socket = async (u: TestUser) => {
  const c = await RawClient.open(wsUrl(node), u.token);
  clients.push(c);
  return c;
};

describe('GET /v1/feed', () => {
  it("writes a small author's post into each follower's feed and the author's own, newest first, hydrated", async () => {
    const [author, f1, f2, stranger] = await makeUsers(node, 4);
    await w.follow(f1!, author!);
    await w.follow(f2!, author!);
    // f1's feed is built (empty) before the posts: fan-out writes into it; f2's is built on its first read.
    expect((await w.page(f1!)).body).toEqual({ items: [], nextCursor: null, liveAuthors: [] });
    const p1 = await w.post(author!);
    const p2 = await w.post(author!);
    await w.settled();
    for (const u of [f1!, f2!, author!]) {
      const r = await w.page(u);
      expect(r.status).toBe(200);
      expect(ids(r.body)).toEqual([p2, p1]);
      expect(r.body.items[0]).toMatchObject({ id: p2, author: { id: author!.id }, likedByMe: false });
    }
    expect(ids((await w.page(stranger!)).body)).toEqual([]);
  });

  it('pages with an opaque cursor, stable while new posts arrive; a malformed cursor is invalid_cursor', async () => {
    const [author, reader] = await makeUsers(node, 2);
    await w.follow(reader!, author!);
    const posted: string[] = [];
    for (let i = 0; i < 7; i++) posted.push(await w.post(author!));
    await w.settled();
    const newest = [...posted].reverse();
    const first = await w.page(reader!, { limit: 3 });
    expect(ids(first.body)).toEqual(newest.slice(0, 3));
    // A post arriving between pages does not shift the next page.
    await w.post(author!);
    await w.settled();
    const second = await w.page(reader!, { limit: 3, cursor: first.body.nextCursor });
    expect(ids(second.body)).toEqual(newest.slice(3, 6));
    expect(second.body.liveAuthors).toEqual([]);
    const third = await w.page(reader!, { limit: 3, cursor: second.body.nextCursor });
    expect(ids(third.body)).toEqual(newest.slice(6));
    expect(third.body.nextCursor).toBeNull();

    for (const cursor of ['nope', `${first.body.nextCursor}x`, posted[0]!]) {
      const bad = await w.page(reader!, { cursor });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_cursor');
    }
  });

  it("merges a big author's posts at read, and keeps feeds exact while the author crosses the threshold both ways", async () => {
    const author = await makeUser(node);
    const fans = await makeUsers(node, THRESHOLD + 1);
    await w.follow(fans[0]!, author);
    const small = await w.post(author); // 1 follower: fanned out
    for (const f of fans.slice(1)) await w.follow(f, author);
    const big = await w.post(author); // 4 followers: pulled
    await w.settled();
    const pulled = await node.db
      .forId(author.id)
      .query('SELECT post_id::text AS id FROM feed_pulled WHERE author_id = $1', [author.id]);
    expect(pulled.rows).toEqual([{ id: big }]);
    for (const f of fans) {
      const r = await w.page(f);
      expect(ids(r.body)).toEqual([big, small]);
      expect(r.body.liveAuthors).toEqual([author.id]);
    }
    // Back under the threshold: the pulled post stays in the feeds (merged), a new one is fanned out.
    await w.unfollow(fans[3]!, author);
    await w.unfollow(fans[2]!, author);
    const smallAgain = await w.post(author);
    await w.settled();
    for (const f of fans.slice(0, 2)) expect(ids((await w.page(f)).body)).toEqual([smallAgain, big, small]);
    for (const f of fans.slice(2)) expect(ids((await w.page(f)).body)).toEqual([]);
    expect((await w.page(fans[0]!)).body.liveAuthors).toEqual([]);
  });

  it("following adds the author's recent posts, unfollowing and blocking take them out, a deleted post leaves", async () => {
    const [a, b, reader] = await makeUsers(node, 3);
    const pa = await w.post(a!);
    const pb = await w.post(b!);
    await w.follow(reader!, a!);
    expect(ids((await w.page(reader!)).body)).toEqual([pa]);
    await w.follow(reader!, b!);
    expect(ids((await w.page(reader!)).body)).toEqual([pb, pa]);
    await w.unfollow(reader!, a!);
    expect(ids((await w.page(reader!)).body)).toEqual([pb]);
    await w.block(b!, reader!);
    expect(ids((await w.page(reader!)).body)).toEqual([]);
    expect(ids((await w.page(b!)).body)).toEqual([pb]);
    await w.follow(reader!, a!);
    const pa2 = await w.post(a!);
    await w.settled();
    expect(ids((await w.page(reader!)).body)).toEqual([pa2, pa]);
    await w.deletePost(a!, pa);
    await w.settled();
    expect(ids((await w.page(reader!)).body)).toEqual([pa2]);
    const stored = await node.ports.feeds.page(reader!.id, { limit: 10 });
    expect(stored).toEqual([pa2]);
  });
});

describe('live feed streams', () => {
  it("delivers a small author's new post on each follower's user:<id>:feed, and its deletion", async () => {
    const [author, fan] = await makeUsers(node, 2);
    await w.follow(fan!, author!);
    const c = await socket(fan!);
    expect(await c.call({ t: 'sub', stream: feedStream(fan!.id) })).toMatchObject({ t: 'res' });
    const id = await w.post(author!);
    const ev = await c.next((m) => m.t === 'ev');
    expect(ev).toMatchObject({
      stream: feedStream(fan!.id),
      data: { type: 'post', post: { id, author: { id: author!.id }, likeCount: 0, likedByMe: false } },
    });
    await w.deletePost(author!, id);
    expect(await c.next((m) => m.t === 'ev' && m.seq === 2)).toMatchObject({
      data: { type: 'post.deleted', postId: id, authorId: author!.id },
    });
  });

  it("delivers a big author's post once on author:<id>:posts, not on each follower's feed stream", async () => {
    const author = await makeUser(node);
    const fans = await makeUsers(node, THRESHOLD);
    for (const f of fans) await w.follow(f, author);
    const c = await socket(fans[0]!);
    expect(await c.call({ t: 'sub', stream: authorPostsStream(author.id) })).toMatchObject({ t: 'res' });
    expect(await c.call({ t: 'sub', stream: feedStream(fans[0]!.id) })).toMatchObject({ t: 'res' });
    const id = await w.post(author);
    const ev = await c.next((m) => m.t === 'ev');
    expect(ev).toMatchObject({ stream: authorPostsStream(author.id), data: { type: 'post', post: { id } } });
    await w.settled();
    const head = await node.hub.publish(feedStream(fans[0]!.id), { type: 'probe' });
    expect(head.seq).toBe(1); // nothing was published on the follower's feed stream before the probe
  });

  it('refuses forbidden on sub to another user’s feed stream, and to the posts of an author one may not see', async () => {
    const [me, other, priv, blocker] = await makeUsers(node, 4);
    const c = await socket(me!);
    expect(await c.call({ t: 'sub', stream: feedStream(other!.id) })).toMatchObject({
      t: 'err',
      code: 'forbidden',
    });
    expect(await c.call({ t: 'sub', stream: feedStream(me!.id) })).toMatchObject({ t: 'res' });
    expect(await c.call({ t: 'sub', stream: authorPostsStream(other!.id) })).toMatchObject({ t: 'res' });
    const privateUser = await makeUser(node, { private: true });
    expect(await c.call({ t: 'sub', stream: authorPostsStream(privateUser.id) })).toMatchObject({
      code: 'forbidden',
    });
    await w.block(blocker!, me!);
    expect(await c.call({ t: 'sub', stream: authorPostsStream(blocker!.id) })).toMatchObject({
      code: 'forbidden',
    });
    for (const stream of [`author:${priv!.id}:other`, 'author:nobody:posts', `author:${priv!.id}:posts:x`])
      expect(await c.call({ t: 'sub', stream })).toMatchObject({ code: 'forbidden' });
  });
});
