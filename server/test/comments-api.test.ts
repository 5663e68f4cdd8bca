import { newId, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../src/capabilities/events.js';
import type { ShutterNode } from '../src/node.js';
import { commentIdFor, commentState, makePost, recordCommentEvents } from './fixtures/comments.js';
import { insertBlock, insertFollow } from './fixtures/posts.js';
import { http, makeUser, shardIn, type TestUser } from './fixtures/social.js';
import { startTestNode } from './helpers/test-node.js';

let node: ShutterNode;
let events: DomainEvent[];

beforeAll(async () => {
  node = await startTestNode('ws');
  events = recordCommentEvents(node);
});
afterAll(() => node?.shutdown());

const add = (u: TestUser, postId: string, body: Record<string, unknown>) =>
  http(node, u, 'POST', `/v1/posts/${postId}/comments`, body);
const del = (u: TestUser, id: string) => http(node, u, 'DELETE', `/v1/comments/${id}`);
const list = (u: TestUser, postId: string, q = '') =>
  http(node, u, 'GET', `/v1/posts/${postId}/comments${q}`);
const createdOf = (id: string) => events.filter((e) => e.type === 'comment.created' && e.commentId === id);

describe('POST /v1/posts/{id}/comments', () => {
  it("stores the comment in the post's database with the client id, counts it, resolves mentions, emits", async () => {
    // The post on each physical database; the commenter on the other one.
    for (const db of [0, 1]) {
      const alice = await makeUser(node, { shard: shardIn(node, db) });
      const bob = await makeUser(node, { shard: shardIn(node, 1 - db), displayName: 'Bob B.' });
      const carol = await makeUser(node);
      const postId = await makePost(node, alice);
      const id = commentIdFor(postId);
      const text = `Lovely @${carol.username.toUpperCase()}. and @${alice.username}, not @nobody_here or me@example.com`;
      const r = await add(bob, postId, { commentId: id, text });
      expect(r.status).toBe(201);
      expect(r.body.comment).toEqual({
        id,
        postId,
        parentId: null,
        author: { id: bob.id, username: bob.username, displayName: 'Bob B.', avatar: null },
        text,
        mentions: [
          { id: carol.id, username: carol.username },
          { id: alice.id, username: alice.username },
        ],
        createdAt: expect.any(Number),
        replyCount: 0,
      });
      const rows = await node.db
        .forId(postId)
        .query('SELECT author_id::text AS a FROM comments WHERE id = $1', [id]);
      expect(rows.rows).toEqual([{ a: bob.id }]);
      const other = node.db.all.find((d) => d !== node.db.forId(postId))!;
      expect((await other.query('SELECT 1 FROM comments WHERE id = $1', [id])).rows).toEqual([]);
      expect(await commentState(node, postId)).toEqual({
        commentCount: 1,
        live: 1,
        rows: 1,
        replyCountsExact: true,
      });
      expect((await http(node, bob, 'GET', `/v1/posts/${postId}`)).body.post.commentCount).toBe(1);
      expect(createdOf(id)).toEqual([
        {
          type: 'comment.created',
          commentId: id,
          postId,
          postAuthorId: alice.id,
          authorId: bob.id,
          mentionIds: [carol.id, alice.id],
          text,
          createdAt: r.body.comment.createdAt,
        },
      ]);
    }
  });

  it('a retry with the same id is a no-op answering the stored comment; other content under it is conflict', async () => {
    const alice = await makeUser(node);
    const bob = await makeUser(node);
    const postId = await makePost(node, alice);
    const otherPost = await makePost(node, alice); // the same shard: the id would fit it
    const id = commentIdFor(postId);
    const first = await add(bob, postId, { commentId: id, text: 'once' });
    const again = await add(bob, postId, { commentId: id, text: 'once' });
    expect(again.status).toBe(201);
    expect(again.body.comment).toEqual(first.body.comment);
    expect(await commentState(node, postId)).toMatchObject({ commentCount: 1, rows: 1 });
    // Announced again: a crash between commit and announce is repaired by the retry.
    expect(createdOf(id)).toHaveLength(2);

    for (const [what, u, post, body] of [
      ['other text', bob, postId, { commentId: id, text: 'twice' }],
      ['another author', alice, postId, { commentId: id, text: 'once' }],
      ['another post', bob, otherPost, { commentId: id, text: 'once' }],
      ['as a reply', bob, postId, { commentId: id, text: 'once', parentId: id }],
    ] as const) {
      const r = await add(u, post, body);
      expect({ what, status: r.status, code: r.body.error?.code }).toEqual({
        what,
        status: 409,
        code: 'conflict',
      });
    }
    expect(await commentState(node, postId)).toMatchObject({ commentCount: 1, rows: 1 });
    expect(await commentState(node, otherPost)).toMatchObject({ commentCount: 0, rows: 0 });

    // After a delete, a retry answers it deleted and brings nothing back.
    expect((await del(bob, id)).status).toBe(200);
    const late = await add(bob, postId, { commentId: id, text: 'once' });
    expect(late.status).toBe(201);
    expect(late.body.comment).toMatchObject({ id, text: 'once', deleted: true });
    expect(await commentState(node, postId)).toEqual({
      commentCount: 0,
      live: 0,
      rows: 1,
      replyCountsExact: true,
    });
    expect(createdOf(id)).toHaveLength(2);
    expect((await list(bob, postId)).body.items).toEqual([]);
  });

  it('refuses every bad input with its code and changes nothing', async () => {
    const alice = await makeUser(node);
    const bob = await makeUser(node);
    const postId = await makePost(node, alice);
    const top = commentIdFor(postId);
    expect((await add(bob, postId, { commentId: top, text: 'the one comment' })).status).toBe(201);
    const elsewhere = await makePost(node, alice);
    const elsewhereComment = commentIdFor(elsewhere);
    expect((await add(bob, elsewhere, { commentId: elsewhereComment, text: 'there' })).status).toBe(201);
    const gone = commentIdFor(postId);
    expect((await add(bob, postId, { commentId: gone, text: 'bye' })).status).toBe(201);
    expect((await del(bob, gone)).status).toBe(200);
    const shard = shardOfId(postId) as number;
    const names = Array.from({ length: 21 }, (_, i) => `@user_${i}`).join(' ');
    const id = () => commentIdFor(postId);
    const cases: [string, Record<string, unknown>, string][] = [
      ['text of 2 201 characters', { commentId: id(), text: 'x'.repeat(2201) }, 'bad_request'],
      ['empty text', { commentId: id(), text: '' }, 'bad_request'],
      ['white space only', { commentId: id(), text: ' \n\t ' }, 'bad_request'],
      ['no text', { commentId: id() }, 'bad_request'],
      ['no commentId', { text: 'hi' }, 'bad_request'],
      ['a commentId that is no id', { commentId: 'c-1', text: 'hi' }, 'bad_request'],
      ['a commentId of another shard', { commentId: newId((shard + 1) % 1024), text: 'hi' }, 'bad_request'],
      [
        'a commentId an hour ahead',
        { commentId: newId(shard, Date.now() + 3_600_000), text: 'hi' },
        'bad_request',
      ],
      ['21 mentions', { commentId: id(), text: names }, 'bad_request'],
      ['an unknown field', { commentId: id(), text: 'hi', sticker: 'x' }, 'bad_request'],
      ['a parentId of no comment', { commentId: id(), text: 'hi', parentId: id() }, 'not_found'],
      ['a parentId that was deleted', { commentId: id(), text: 'hi', parentId: gone }, 'not_found'],
      [
        "a parentId of another post's comment",
        { commentId: id(), text: 'hi', parentId: elsewhereComment },
        'bad_request',
      ],
      [
        'a parentId on another shard',
        { commentId: id(), text: 'hi', parentId: newId((shard + 1) % 1024) },
        'bad_request',
      ],
    ];
    const before = events.length;
    const state = await commentState(node, postId);
    for (const [what, body, code] of cases) {
      const r = await add(bob, postId, body);
      expect({ what, code: r.body.error?.code }).toEqual({ what, code });
      expect(r.body.error.message.length, what).toBeGreaterThan(0);
    }
    const wrongShard = await add(bob, postId, { commentId: newId((shard + 1) % 1024), text: 'hi' });
    expect(wrongShard.body.error.message).toContain('newId(shardOfId(postId))');
    expect(await commentState(node, postId)).toEqual(state);
    expect(await commentState(node, elsewhere)).toMatchObject({ commentCount: 1, rows: 1 });
    expect(events.length).toBe(before);
    // 2 200 characters and 20 mentions are fine.
    const twenty = Array.from({ length: 20 }, (_, i) => `@user_${i}`).join(' ');
    expect((await add(bob, postId, { commentId: id(), text: 'é'.repeat(2200) })).status).toBe(201);
    expect((await add(bob, postId, { commentId: id(), text: twenty })).status).toBe(201);
  });

  it('answers not_found for a post that is missing, deleted, private and not followed, or across a block', async () => {
    const alice = await makeUser(node);
    const priv = await makeUser(node, { private: true });
    const [follower, pending, stranger, blocker, blockedOne] = await Promise.all(
      Array.from({ length: 5 }, () => makeUser(node)),
    );
    await insertFollow(node, follower!.id, priv.id);
    await insertFollow(node, pending!.id, priv.id, 'pending');
    await insertBlock(node, blocker!.id, alice.id); // the commenter blocks the author
    await insertBlock(node, alice.id, blockedOne!.id); // the author blocks the commenter
    const pub = await makePost(node, alice);
    const hidden = await makePost(node, priv);
    const deleted = await makePost(node, alice);
    expect((await http(node, alice, 'DELETE', `/v1/posts/${deleted}`)).status).toBe(200);
    const missing = newId(shardOfId(alice.id) as number);
    const before = events.length;
    const refused: [TestUser, string][] = [
      [pending!, hidden],
      [stranger!, hidden],
      [blocker!, pub],
      [blockedOne!, pub],
      [stranger!, deleted],
      [stranger!, missing],
    ];
    const answers = [];
    for (const [u, postId] of refused) {
      const r = await add(u, postId, { commentId: commentIdFor(postId), text: 'hello' });
      expect([r.status, r.body.error.code]).toEqual([404, 'not_found']);
      answers.push(r.body);
      // The same answer posts.get gives, and the list too.
      expect((await http(node, u, 'GET', `/v1/posts/${postId}`)).body).toEqual(r.body);
      expect((await list(u, postId)).body).toEqual(r.body);
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    for (const p of [pub, hidden, deleted]) expect(await commentState(node, p)).toMatchObject({ rows: 0 });
    expect(events.length).toBe(before);
    // Who may see the post may comment.
    expect((await add(follower!, hidden, { commentId: commentIdFor(hidden), text: 'hi' })).status).toBe(201);
    expect((await add(stranger!, pub, { commentId: commentIdFor(pub), text: 'hi' })).status).toBe(201);
  });
});

describe('DELETE /v1/comments/{id}', () => {
  it("by the comment's author or the post's author, once; forbidden for others, not_found when hidden", async () => {
    const owner = await makeUser(node, { private: true });
    const [bob, carol, outsider] = await Promise.all([makeUser(node), makeUser(node), makeUser(node)]);
    await insertFollow(node, bob.id, owner.id);
    await insertFollow(node, carol.id, owner.id);
    const postId = await makePost(node, owner);
    const a = commentIdFor(postId);
    const b = commentIdFor(postId);
    expect((await add(bob, postId, { commentId: a, text: 'first' })).status).toBe(201);
    expect((await add(bob, postId, { commentId: b, text: 'second' })).status).toBe(201);
    const before = events.length;

    const byCarol = await del(carol, a);
    expect([byCarol.status, byCarol.body.error.code]).toEqual([403, 'forbidden']);
    const byOutsider = await del(outsider, a);
    expect([byOutsider.status, byOutsider.body.error.code]).toEqual([404, 'not_found']);
    const unknown = await del(carol, commentIdFor(postId));
    expect(byOutsider.body).toEqual(unknown.body);
    expect(await commentState(node, postId)).toMatchObject({ commentCount: 2, live: 2 });
    expect(events.length).toBe(before);

    const byAuthor = await del(bob, a);
    expect([byAuthor.status, byAuthor.body]).toEqual([200, { id: a, postId, deleted: true }]);
    const byOwner = await del(owner, b);
    expect([byOwner.status, byOwner.body]).toEqual([200, { id: b, postId, deleted: true }]);
    expect(await commentState(node, postId)).toEqual({
      commentCount: 0,
      live: 0,
      rows: 2,
      replyCountsExact: true,
    });
    expect(events.slice(before)).toEqual([
      { type: 'comment.deleted', commentId: a, postId, postAuthorId: owner.id, authorId: bob.id },
      { type: 'comment.deleted', commentId: b, postId, postAuthorId: owner.id, authorId: bob.id },
    ]);
    // Again: the same answer, the counts stay.
    expect((await del(bob, a)).status).toBe(200);
    expect((await del(owner, a)).status).toBe(200);
    expect((await del(carol, a)).status).toBe(404);
    expect(await commentState(node, postId)).toMatchObject({ commentCount: 0, live: 0 });
    expect((await del(bob, 'not-an-id')).body.error.code).toBe('bad_request');
  });

  it('a top-level comment takes its replies with it, and the count drops by all of them', async () => {
    const alice = await makeUser(node);
    const [bob, carol] = await Promise.all([makeUser(node), makeUser(node)]);
    const postId = await makePost(node, alice);
    const top = commentIdFor(postId);
    const keep = commentIdFor(postId);
    await add(bob, postId, { commentId: top, text: 'top' });
    await add(carol, postId, { commentId: keep, text: 'another' });
    const replies = [commentIdFor(postId), commentIdFor(postId), commentIdFor(postId)];
    for (const [i, r] of replies.entries())
      expect(
        (await add(i % 2 ? bob : carol, postId, { commentId: r, text: `re ${i}`, parentId: top })).status,
      ).toBe(201);
    expect((await del(carol, replies[0]!)).status).toBe(200);
    expect(await commentState(node, postId)).toEqual({
      commentCount: 4,
      live: 4,
      rows: 5,
      replyCountsExact: true,
    });
    const before = events.length;
    expect((await del(bob, top)).status).toBe(200);
    expect(await commentState(node, postId)).toEqual({
      commentCount: 1,
      live: 1,
      rows: 5,
      replyCountsExact: true,
    });
    expect(
      events
        .slice(before)
        .map((e) => (e.type === 'comment.deleted' ? e.commentId : e.type))
        .sort(),
    ).toEqual([top, replies[1]!, replies[2]!].sort());
    // A reply of a deleted thread is deleted too: deleting it again is a no-op.
    expect((await del(bob, replies[1]!)).status).toBe(200);
    expect(await commentState(node, postId)).toMatchObject({ commentCount: 1, live: 1 });
    expect((await list(alice, postId)).body.items.map((c: { id: string }) => c.id)).toEqual([keep]);
  });
});
