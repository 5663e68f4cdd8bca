import type { Comment, CommentThread } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comments } from '../src/capabilities/comments/index.js';
import { listComments } from '../src/capabilities/comments/list.js';
import type { DomainEvent } from '../src/capabilities/events.js';
import type { OperationContext } from '../src/capabilities/operation.js';
import type { ShutterNode } from '../src/node.js';
import { commentIdFor, commentState, makePost, recordCommentEvents } from './fixtures/comments.js';
import { insertBlock, insertMedia } from './fixtures/posts.js';
import { http, makeUser, makeUsers, shardIn, type TestUser } from './fixtures/social.js';
import { countQueries } from './helpers/count-queries.js';
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
const get = (u: TestUser, path: string) => http(node, u, 'GET', path);

/** Adds a comment (a reply with `parentId`) with ids made `i` ms apart, so their order is known. */
async function comment(u: TestUser, postId: string, text: string, parentId?: string, at = Date.now()) {
  const r = await add(u, postId, {
    commentId: commentIdFor(postId, at),
    text,
    ...(parentId ? { parentId } : {}),
  });
  expect(r.status).toBe(201);
  return r.body.comment as Comment;
}

/** Every page of a list, following `nextCursor`. */
async function pages<T>(u: TestUser, path: string, limit: number): Promise<{ items: T[]; count: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let count = 0;
  do {
    const q: string = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await get(u, `${path}${q}`);
    expect(r.status).toBe(200);
    expect(r.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...r.body.items);
    cursor = r.body.nextCursor;
    count++;
  } while (cursor && count < 50);
  return { items, count };
}

describe('comments.list and comments.replies', () => {
  it('lists top-level comments newest first with reply counts and the first replies; replies page oldest first', async () => {
    const alice = await makeUser(node);
    const [bob, carol] = await Promise.all([makeUser(node), makeUser(node)]);
    const postId = await makePost(node, alice);
    const t0 = Date.now();
    const tops: Comment[] = [];
    for (let i = 0; i < 5; i++)
      tops.push(await comment(i % 2 ? bob : carol, postId, `top ${i}`, undefined, t0 + i));
    const [first, second] = tops as [Comment, Comment];
    const replies: Comment[] = [];
    for (let i = 0; i < 5; i++) replies.push(await comment(bob, postId, `re ${i}`, first.id, t0 + 10 + i));
    // A reply to a reply sits under that reply's top-level comment.
    const nested = await comment(carol, postId, `@${bob.username} yes`, replies[1]!.id, t0 + 20);
    expect(nested.parentId).toBe(first.id);
    const one = await comment(alice, postId, 'only one', second.id, t0 + 21);
    const created = events.find((e) => e.type === 'comment.created' && e.commentId === nested.id);
    expect(created).toMatchObject({
      parentId: first.id,
      parentAuthorId: carol.id,
      postAuthorId: alice.id,
      authorId: carol.id,
      mentionIds: [bob.id],
    });
    expect(await commentState(node, postId)).toEqual({
      commentCount: 12,
      live: 12,
      rows: 12,
      replyCountsExact: true,
    });

    const all = await pages<CommentThread>(bob, `/v1/posts/${postId}/comments`, 2);
    expect(all.count).toBe(3);
    expect(all.items.map((c) => c.text)).toEqual(['top 4', 'top 3', 'top 2', 'top 1', 'top 0']);
    const threadOf = (id: string) => all.items.find((c) => c.id === id)!;
    expect(threadOf(first.id)).toMatchObject({ replyCount: 6, parentId: null });
    expect(threadOf(first.id).replies.map((r) => r.text)).toEqual(['re 0', 're 1']);
    expect(threadOf(first.id).replies[0]).toMatchObject({
      parentId: first.id,
      replyCount: 0,
      author: { id: bob.id },
    });
    expect(threadOf(second.id)).toMatchObject({ replyCount: 1, repliesCursor: null });
    expect(threadOf(second.id).replies.map((r) => r.id)).toEqual([one.id]);
    expect(threadOf(tops[2]!.id)).toMatchObject({ replyCount: 0, replies: [], repliesCursor: null });

    // The rest of the thread continues from the preview's cursor.
    const cursor = threadOf(first.id).repliesCursor!;
    const rest = await get(
      bob,
      `/v1/comments/${first.id}/replies?limit=3&cursor=${encodeURIComponent(cursor)}`,
    );
    expect(rest.body.items.map((r: Comment) => r.text)).toEqual(['re 2', 're 3', 're 4']);
    const allReplies = await pages<Comment>(bob, `/v1/comments/${first.id}/replies`, 4);
    expect(allReplies.items.map((r) => r.text)).toEqual([
      're 0',
      're 1',
      're 2',
      're 3',
      're 4',
      `@${bob.username} yes`,
    ]);
    expect(allReplies.count).toBe(2);

    // The replies of a reply: there are none by construction.
    const ofReply = await get(bob, `/v1/comments/${replies[0]!.id}/replies`);
    expect([ofReply.status, ofReply.body.error.code]).toEqual([400, 'bad_request']);
    expect(ofReply.body.error.message).toContain(first.id);
    expect((await get(bob, `/v1/posts/${postId}/comments?cursor=nope`)).body.error.code).toBe(
      'invalid_cursor',
    );
    expect((await get(bob, `/v1/comments/${first.id}/replies?cursor=nope`)).body.error.code).toBe(
      'invalid_cursor',
    );
    expect((await get(bob, `/v1/comments/${commentIdFor(postId)}/replies`)).body.error.code).toBe(
      'not_found',
    );
  });

  it('leaves out comments of users the reader blocks or is blocked by, and of deleted accounts', async () => {
    const alice = await makeUser(node);
    const [reader, blocked, blocker, gone, fine] = await makeUsers(node, 5);
    await insertBlock(node, reader!.id, blocked!.id);
    await insertBlock(node, blocker!.id, reader!.id);
    const postId = await makePost(node, alice);
    const t0 = Date.now();
    const ok = await comment(fine!, postId, 'fine', undefined, t0);
    await comment(blocked!, postId, 'blocked', undefined, t0 + 1);
    await comment(blocker!, postId, 'blocker', undefined, t0 + 2);
    await comment(gone!, postId, 'gone', undefined, t0 + 3);
    await comment(blocked!, postId, 'blocked reply', ok.id, t0 + 4);
    const okReply = await comment(fine!, postId, 'fine reply', ok.id, t0 + 5);
    await node.db.forId(gone!.id).query('UPDATE users SET deleted_at = now() WHERE id = $1', [gone!.id]);
    const r = await get(reader!, `/v1/posts/${postId}/comments`);
    expect(r.body.items.map((c: CommentThread) => c.text)).toEqual(['fine']);
    expect(r.body.items[0].replies.map((c: Comment) => c.id)).toEqual([okReply.id]);
    expect(r.body.items[0].replyCount).toBe(2); // the count is the thread's, as everyone sees it
    expect((await get(alice, `/v1/posts/${postId}/comments`)).body.items).toHaveLength(3);
  });

  it('reads a page with the same number of queries for 3 comments as for 40', async () => {
    const alice = await makeUser(node, { shard: shardIn(node, 0) });
    const reader = await makeUser(node, { shard: shardIn(node, 1) });
    const authors = [
      ...(await makeUsers(node, 3, { shard: shardIn(node, 0) })),
      ...(await makeUsers(node, 3, { shard: shardIn(node, 1) })),
    ];
    const avatar = await insertMedia(node, authors[0]!.id);
    await node.db
      .forId(authors[0]!.id)
      .query('UPDATE users SET avatar_media_id = $1 WHERE id = $2', [avatar, authors[0]!.id]);
    const small = await makePost(node, alice);
    const big = await makePost(node, alice);
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) {
      const c = await comment(authors[i]!, small, `s${i}`, undefined, t0 + i);
      await comment(authors[5 - i]!, small, `sr${i}`, c.id, t0 + 100 + i);
    }
    for (let i = 0; i < 40; i++) {
      const c = await comment(authors[i % 6]!, big, `b${i}`, undefined, t0 + 200 + i);
      for (let j = 0; j < 3; j++)
        await comment(authors[(i + j) % 6]!, big, `br${i}.${j}`, c.id, t0 + 300 + i * 3 + j);
    }
    const three = await countQueries(node, () => listComments(ctxOf(reader), { id: small }));
    const forty = await countQueries(node, () => listComments(ctxOf(reader), { id: big, limit: 40 }));
    expect(three.result.items).toHaveLength(3);
    expect(forty.result.items).toHaveLength(40);
    expect(forty.result.items.every((t) => t.replies.length === 2 && t.repliesCursor !== null)).toBe(true);
    expect(forty.total).toBe(three.total);
    expect(forty.perDb).toEqual(three.perDb);
    // post, its author, the reader's rows toward the author; the page; authors (one per database),
    // the reader's rows toward them; avatars.
    expect(forty.total).toBe(3 + 1 + node.db.all.length + 2);
    const withAvatar = forty.result.items.find((t) => t.author.id === authors[0]!.id)!;
    expect(withAvatar.author.avatar?.mediaId).toBe(avatar);
  });
});

describe('counts under concurrency', () => {
  it('keeps comment_count and reply_count exact with concurrent adds, retries and deletes', async () => {
    const alice = await makeUser(node);
    const users = await makeUsers(node, 12);
    const postId = await makePost(node, alice);
    const tops: Comment[] = [];
    for (let i = 0; i < 4; i++) tops.push(await comment(users[i]!, postId, `top ${i}`));
    // 122 calls at once: new comments, replies, the same ids sent twice, and deletes of two threads.
    const deletedTops = new Set([tops[1]!.id, tops[2]!.id]);
    const calls: Promise<void>[] = [];
    const underDeleted: string[] = [];
    for (let i = 0; i < 100; i++) {
      const u = users[i % users.length]!;
      const id = commentIdFor(postId);
      const parentId = i % 3 === 0 ? tops[i % 4]!.id : undefined;
      const body = { commentId: id, text: `c${i}`, ...(parentId ? { parentId } : {}) };
      // A reply racing the delete of its thread is stored before it (then deleted with it) or refused.
      const racing = parentId !== undefined && deletedTops.has(parentId);
      if (racing) underDeleted.push(id);
      const send = async () => {
        const r = await add(u, postId, body);
        if (racing && r.status === 404) expect(r.body.error.code).toBe('not_found');
        else expect(r.status).toBe(201);
      };
      calls.push(send());
      if (i % 5 === 0) calls.push(send());
    }
    for (const [u, id] of [
      [users[1]!, tops[1]!.id],
      [alice, tops[2]!.id],
    ] as const)
      calls.push(http(node, u, 'DELETE', `/v1/comments/${id}`).then((r) => expect(r.status).toBe(200)));
    await Promise.all(calls);
    const live = await node.db
      .forId(postId)
      .query('SELECT id FROM comments WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL', [underDeleted]);
    expect(live.rows).toEqual([]);
    const state = await commentState(node, postId);
    expect(state.replyCountsExact).toBe(true);
    expect(state.commentCount).toBe(state.live);
    // Nothing is live under a deleted thread, and no id was stored twice.
    const orphans = await node.db.forId(postId).query(
      `SELECT r.id FROM comments r JOIN comments t ON t.id = r.parent_id
          WHERE r.deleted_at IS NULL AND t.deleted_at IS NOT NULL`,
    );
    expect(orphans.rows).toEqual([]);
    const stored = await get(alice, `/v1/posts/${postId}`);
    expect(stored.body.post.commentCount).toBe(state.live);
  });
});

describe('account deletion', () => {
  it("removes the account's comments on every database; replies under them go too; counts stay exact", async () => {
    const leaver = await makeUser(node);
    const stayer = await makeUser(node);
    const posts = [
      await makePost(node, await makeUser(node, { shard: shardIn(node, 0) })),
      await makePost(node, await makeUser(node, { shard: shardIn(node, 1) })),
    ];
    for (const postId of posts) {
      const mine = await comment(leaver, postId, 'mine');
      await comment(stayer, postId, 'reply to the leaver', mine.id);
      const theirs = await comment(stayer, postId, 'theirs');
      await comment(leaver, postId, 'my reply', theirs.id);
      await comment(stayer, postId, 'their reply', theirs.id);
    }
    const before = events.length;
    await comments.onUserDeleted!(node.ports, leaver.id);
    for (const postId of posts) {
      expect(await commentState(node, postId)).toEqual({
        commentCount: 2,
        live: 2,
        rows: 3,
        replyCountsExact: true,
      });
      const left = await node.db
        .forId(postId)
        .query('SELECT 1 FROM comments WHERE author_id = $1', [leaver.id]);
      expect(left.rows).toEqual([]);
      const page = (await get(stayer, `/v1/posts/${postId}/comments`)).body.items as CommentThread[];
      expect(page.map((c) => [c.text, c.replies.map((r) => r.text)])).toEqual([['theirs', ['their reply']]]);
    }
    expect(events.slice(before).filter((e) => e.type === 'comment.deleted')).toHaveLength(6);
    // Run again (a retried job): nothing left to do.
    await comments.onUserDeleted!(node.ports, leaver.id);
    expect(events.length).toBe(before + 6);
  });
});

/** A handler's context for `user`, as the registry builds it. */
function ctxOf(user: TestUser): OperationContext {
  return {
    ...node.ports,
    caller: { userId: user.id, session: undefined },
    idempotencyKey: undefined,
    via: 'http',
  };
}
