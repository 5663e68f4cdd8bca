import { newId, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../src/capabilities/events.js';
import type { ShutterNode } from '../src/node.js';
import { insertBlock, insertFollow, insertMedia, postState } from './fixtures/posts.js';
import { http, makeUser, shardIn, type TestUser } from './fixtures/social.js';
import { devToken, startTestNode } from './helpers/test-node.js';

let node: ShutterNode;
const events: DomainEvent[] = [];

beforeAll(async () => {
  node = await startTestNode('ws');
  node.ports.events.on('post.created', (e) => {
    events.push(e);
  });
  node.ports.events.on('post.deleted', (e) => {
    events.push(e);
  });
});
afterAll(() => node?.shutdown());

const create = (u: TestUser, body: unknown) => http(node, u, 'POST', '/v1/posts', body);
const get = (u: TestUser, id: string) => http(node, u, 'GET', `/v1/posts/${id}`);
const del = (u: TestUser, id: string) => http(node, u, 'DELETE', `/v1/posts/${id}`);

describe('POST /v1/posts', () => {
  it('stores the post in its author database with the client id, counts it once, answers it hydrated', async () => {
    // An author on each physical database: the row lands beside its author.
    for (const db of [0, 1]) {
      const alice = await makeUser(node, { shard: shardIn(node, db) });
      const media = [
        await insertMedia(node, alice.id),
        await insertMedia(node, alice.id, { width: 900, height: 1600 }),
      ];
      const id = newId(shardOfId(alice.id) as number);
      const caption = 'Golden hour at #Étretat with @Bob_. and @carol #sea #SEA';
      const r = await create(alice, {
        id,
        mediaIds: media,
        caption,
        location: { lat: 49.7, lon: 0.2, name: 'Étretat' },
      });
      expect(r.status).toBe(201);
      const post = r.body.post;
      expect(post).toMatchObject({
        id,
        author: { id: alice.id, username: alice.username, avatar: null },
        caption,
        hashtags: ['étretat', 'sea'],
        mentions: ['bob_', 'carol'],
        location: { lat: 49.7, lon: 0.2, name: 'Étretat' },
        likeCount: 0,
        commentCount: 0,
        likedByMe: false,
      });
      expect(post.deleted).toBeUndefined();
      expect(post.media.map((m: { mediaId: string }) => m.mediaId)).toEqual(media);
      expect(post.media[1]).toMatchObject({ width: 900, height: 1600, placeholder: expect.any(String) });
      expect(
        post.media[0].variants.map((v: { size: number; format: string }) => `${v.size}.${v.format}`),
      ).toEqual(['320.jpeg', '320.webp', '1080.jpeg', '1080.webp']);
      const rows = await node.db
        .forId(alice.id)
        .query('SELECT author_id::text AS a FROM posts WHERE id = $1', [id]);
      expect(rows.rows).toEqual([{ a: alice.id }]);
      const other = node.db.all.find((d) => d !== node.db.forId(alice.id));
      if (other) expect((await other.query('SELECT 1 FROM posts WHERE id = $1', [id])).rows).toEqual([]);
      expect(await postState(node, alice.id)).toEqual({ postCount: 1, rows: 1, live: 1 });
      expect(events).toContainEqual({
        type: 'post.created',
        postId: id,
        authorId: alice.id,
        createdAt: post.createdAt,
      });
    }
  });

  it('a retry with the same id is a no-op answering the same post; other content under that id is conflict', async () => {
    const alice = await makeUser(node);
    const media = [await insertMedia(node, alice.id)];
    const id = newId(shardOfId(alice.id) as number);
    const first = await create(alice, { id, mediaIds: media, caption: 'once' });
    const again = await create(alice, { id, mediaIds: media, caption: 'once' });
    expect(again.status).toBe(201);
    expect(again.body.post).toEqual(first.body.post);
    expect(await postState(node, alice.id)).toEqual({ postCount: 1, rows: 1, live: 1 });
    const other = await create(alice, { id, mediaIds: media, caption: 'twice' });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('conflict');
    expect((await get(alice, id)).body.post.caption).toBe('once');
  });

  it('makes an id on the author shard when none is given', async () => {
    const alice = await makeUser(node);
    const r = await create(alice, { mediaIds: [await insertMedia(node, alice.id)] });
    expect(r.status).toBe(201);
    expect(shardOfId(r.body.post.id)).toBe(shardOfId(alice.id));
    expect(r.body.post.caption).toBe('');
    expect(r.body.post.location).toBeNull();
  });

  it('refuses every bad input with its code and changes nothing', async () => {
    const alice = await makeUser(node);
    const bob = await makeUser(node);
    const ready = await insertMedia(node, alice.id);
    const processing = await insertMedia(node, alice.id, { status: 'processing' });
    const failed = await insertMedia(node, alice.id, { status: 'failed' });
    const bobs = await insertMedia(node, bob.id);
    const eleven = await Promise.all(Array.from({ length: 11 }, () => insertMedia(node, alice.id)));
    const myShard = shardOfId(alice.id) as number;
    const cases: [string, unknown, string][] = [
      ['caption of 2 201 characters', { mediaIds: [ready], caption: 'x'.repeat(2201) }, 'bad_request'],
      [
        '31 hashtags',
        { mediaIds: [ready], caption: Array.from({ length: 31 }, (_, i) => `#t${i}`).join(' ') },
        'bad_request',
      ],
      ['media still processing', { mediaIds: [ready, processing] }, 'media_not_ready'],
      ['media that failed', { mediaIds: [failed] }, 'media_not_ready'],
      ["someone else's media", { mediaIds: [ready, bobs] }, 'media_not_owned'],
      ['media that does not exist', { mediaIds: ['m_nothere'] }, 'media_not_owned'],
      ['11 media', { mediaIds: eleven }, 'bad_request'],
      ['no media', { mediaIds: [] }, 'bad_request'],
      ['the same media twice', { mediaIds: [ready, ready] }, 'bad_request'],
      ['latitude 91', { mediaIds: [ready], location: { lat: 91, lon: 0 } }, 'bad_request'],
      ['longitude -181', { mediaIds: [ready], location: { lat: 0, lon: -181 } }, 'bad_request'],
      [
        'place name of 101',
        { mediaIds: [ready], location: { lat: 0, lon: 0, name: 'n'.repeat(101) } },
        'bad_request',
      ],
      ['an id of another shard', { id: newId((myShard + 1) % 1024), mediaIds: [ready] }, 'bad_request'],
      [
        'an id an hour ahead',
        { id: newId(myShard, Date.now() + 3_600_000), mediaIds: [ready] },
        'bad_request',
      ],
      ['an id that is no UUIDv7', { id: 'not-an-id', mediaIds: [ready] }, 'bad_request'],
      ['an unknown field', { mediaIds: [ready], filter: 'sepia' }, 'bad_request'],
    ];
    const before = events.length;
    for (const [what, body, code] of cases) {
      const r = await create(alice, body);
      expect({ what, status: r.status, code: r.body.error?.code }).toMatchObject({ what, code });
      expect(r.body.error.message.length, what).toBeGreaterThan(0);
    }
    const shard = await create(alice, { id: newId((myShard + 1) % 1024), mediaIds: [ready] });
    expect(shard.body.error.message).toContain("author's shard");
    expect(await postState(node, alice.id)).toEqual({ postCount: 0, rows: 0, live: 0 });
    expect(events.length).toBe(before);
    // A few minutes of clock skew are fine.
    expect((await create(alice, { id: newId(myShard, Date.now() + 60_000), mediaIds: [ready] })).status).toBe(
      201,
    );
  });
});

describe('GET /v1/posts/{id}: privacy', () => {
  it('shows a private author posts only to the author and active followers; never across a block', async () => {
    const priv = await makeUser(node, { private: true });
    const pub = await makeUser(node);
    const [follower, pending, stranger, blocker, blockedOne] = await Promise.all(
      Array.from({ length: 5 }, () => makeUser(node)),
    );
    await insertFollow(node, follower!.id, priv.id);
    await insertFollow(node, pending!.id, priv.id, 'pending');
    await insertFollow(node, blocker!.id, pub.id);
    await insertBlock(node, blocker!.id, pub.id); // the viewer blocks the author
    await insertBlock(node, pub.id, blockedOne!.id); // the author blocks the viewer
    const p1 = (await create(priv, { mediaIds: [await insertMedia(node, priv.id)] })).body.post.id;
    const p2 = (await create(pub, { mediaIds: [await insertMedia(node, pub.id)] })).body.post.id;
    const see = async (u: TestUser, id: string) => (await get(u, id)).status;
    expect(await see(priv, p1)).toBe(200);
    expect(await see(follower!, p1)).toBe(200);
    expect(await see(pending!, p1)).toBe(404);
    expect(await see(stranger!, p1)).toBe(404);
    expect(await see(stranger!, p2)).toBe(200);
    expect(await see(blocker!, p2)).toBe(404);
    expect(await see(blockedOne!, p2)).toBe(404);
    const hidden = await get(stranger!, p1);
    const missing = await get(stranger!, newId(shardOfId(priv.id) as number));
    expect(hidden.body).toEqual(missing.body); // nothing tells a hidden post from a missing one
  });
});

describe('DELETE /v1/posts/{id}', () => {
  it('only the author deletes, once; the post leaves reads; a retried create keeps it deleted', async () => {
    const alice = await makeUser(node);
    const bob = await makeUser(node);
    const carol = await makeUser(node, { private: true });
    const media = [await insertMedia(node, alice.id)];
    const id = newId(shardOfId(alice.id) as number);
    await create(alice, { id, mediaIds: media, caption: 'bye' });
    const other = await del(bob, id);
    expect([other.status, other.body.error.code]).toEqual([403, 'forbidden']);
    const carols = (await create(carol, { mediaIds: [await insertMedia(node, carol.id)] })).body.post.id;
    const hidden = await del(bob, carols);
    expect([hidden.status, hidden.body.error.code]).toEqual([404, 'not_found']);
    expect(await postState(node, carol.id)).toEqual({ postCount: 1, rows: 1, live: 1 });

    const first = await del(alice, id);
    expect([first.status, first.body]).toEqual([200, { id, deleted: true }]);
    expect(await postState(node, alice.id)).toEqual({ postCount: 0, rows: 1, live: 0 });
    expect(events).toContainEqual({ type: 'post.deleted', postId: id, authorId: alice.id });
    const second = await del(alice, id);
    expect(second.status).toBe(200);
    expect(await postState(node, alice.id)).toEqual({ postCount: 0, rows: 1, live: 0 });
    expect((await get(alice, id)).status).toBe(404);
    expect((await del(bob, id)).status).toBe(404);

    const retried = await create(alice, { id, mediaIds: media, caption: 'bye' });
    expect(retried.status).toBe(201);
    expect(retried.body.post).toMatchObject({ id, caption: 'bye', deleted: true });
    expect(await postState(node, alice.id)).toEqual({ postCount: 0, rows: 1, live: 0 });
    expect((await get(alice, id)).status).toBe(404);
    expect((await del(alice, newId(shardOfId(alice.id) as number))).status).toBe(404);
  });
});

describe('GET /v1/users/{id}/posts', () => {
  it('pages newest first by id with an opaque cursor, without deleted posts', async () => {
    const alice = await makeUser(node);
    const bob = await makeUser(node);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const id = newId(shardOfId(alice.id) as number, Date.now() + i);
      ids.push(id);
      expect(
        (await create(alice, { id, mediaIds: [await insertMedia(node, alice.id)], caption: `#${i}` })).status,
      ).toBe(201);
    }
    await del(alice, ids[2]!);
    const expected = [...ids].reverse().filter((x) => x !== ids[2]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await http(node, bob, 'GET', `/v1/users/${alice.id}/posts${q}`);
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.items.map((p: { id: string }) => p.id));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(expected);
    expect(pages).toBe(3);
  });

  it('refuses malformed cursors with invalid_cursor', async () => {
    const alice = await makeUser(node);
    for (const cursor of [
      'nope!',
      'AAAA',
      Buffer.from('p1:not-an-id').toString('base64url'),
      Buffer.from(alice.id).toString('base64url'),
    ]) {
      const r = await http(
        node,
        alice,
        'GET',
        `/v1/users/${alice.id}/posts?cursor=${encodeURIComponent(cursor)}`,
      );
      expect([cursor, r.status, r.body.error?.code]).toEqual([cursor, 400, 'invalid_cursor']);
    }
  });

  it('keeps the privacy rules: private to followers only, nothing across a block, not_found for nobody', async () => {
    const priv = await makeUser(node, { private: true });
    const follower = await makeUser(node);
    const stranger = await makeUser(node);
    const blocked = await makeUser(node);
    await insertFollow(node, follower.id, priv.id);
    await insertBlock(node, priv.id, blocked.id);
    await create(priv, { mediaIds: [await insertMedia(node, priv.id)] });
    const list = (u: TestUser, id = priv.id) => http(node, u, 'GET', `/v1/users/${id}/posts`);
    expect((await list(priv)).body.items).toHaveLength(1);
    expect((await list(follower)).body.items).toHaveLength(1);
    expect((await list(stranger)).body.error.code).toBe('forbidden');
    expect((await list(blocked)).body.error.code).toBe('blocked');
    expect((await list(stranger, newId(0))).body.error.code).toBe('not_found');
  });
});

describe('counts under concurrency', () => {
  it('post_count equals the live rows after concurrent creates, retries and deletes', async () => {
    const alice = await makeUser(node);
    const shard = shardOfId(alice.id) as number;
    const media = await Promise.all(Array.from({ length: 3 }, () => insertMedia(node, alice.id)));
    const ids = Array.from({ length: 12 }, () => newId(shard));
    // Every post created 3 times at once; then every other one deleted twice at once.
    const creates = ids.flatMap((id) =>
      [0, 1, 2].map(() => create(alice, { id, mediaIds: media, caption: id })),
    );
    const created = await Promise.all(creates);
    expect(created.map((r) => r.status)).toEqual(creates.map(() => 201));
    expect(await postState(node, alice.id)).toEqual({ postCount: 12, rows: 12, live: 12 });
    const gone = ids.filter((_, i) => i % 2 === 0);
    const deletes = await Promise.all(gone.flatMap((id) => [del(alice, id), del(alice, id)]));
    expect(deletes.every((r) => r.status === 200)).toBe(true);
    expect(await postState(node, alice.id)).toEqual({ postCount: 6, rows: 12, live: 6 });
  });

  it('refuses a post by a token whose user has no account, writing nothing', async () => {
    const id = newId(7);
    const ghost: TestUser = { id, username: 'ghost', token: await devToken(node, id) };
    const media = await insertMedia(node, ghost.id);
    const r = await create(ghost, { mediaIds: [media] });
    expect([r.status, r.body.error.code]).toEqual([404, 'not_found']);
    const rows = await node.db.forId(ghost.id).query('SELECT 1 FROM posts WHERE author_id = $1', [ghost.id]);
    expect(rows.rows).toEqual([]);
  });
});
