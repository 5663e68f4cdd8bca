import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import {
  http,
  type MakeUserOptions,
  makeUser,
  makeUsers,
  shardIn,
  type TestUser,
} from './fixtures/social.js';
import { NotifyWorld, until } from './helpers/notify-world.js';
import { startTestNode } from './helpers/test-node.js';

// Notifications on one node over two physical databases (SQL job queue):
// made from the domain events (likes and comments emitted as their
// capabilities will; follows, blocks and posts through the real routes),
// stored on the recipient's shard, deduplicated, folded, withdrawn,
// filtered, live on the inbox stream, listed and marked read over HTTP.
let node: ShutterNode;
let w: NotifyWorld;

beforeAll(async () => {
  // No push in these tests (the ledger has its own file): the clock is far away.
  node = await startTestNode('ws', { NOTIFY_PUSH_AFTER_MS: '600000', NOTIFY_LIVE_PER_MINUTE: '1000' });
  w = new NotifyWorld(node);
});
afterAll(async () => {
  w?.close();
  await node?.shutdown();
});

/** Four users to destructure (`const [a, b] = await people()`). */
async function people(options: MakeUserOptions = {}): Promise<[TestUser, TestUser, TestUser, TestUser]> {
  return (await makeUsers(node, 4, options)) as [TestUser, TestUser, TestUser, TestUser];
}

/** Rows of `user`'s notifications in each physical database: [first, second]. */
async function rowsPerDb(user: TestUser): Promise<number[]> {
  return Promise.all(
    node.db.all.map(async (sql) => {
      const r = await sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM notifications WHERE recipient_id = $1',
        [user.id],
      );
      return r.rows[0]?.n ?? 0;
    }),
  );
}

describe('notifications from likes', () => {
  it('a retried like notifies once, like → unlike → like never twice, rows on the recipient shard', async () => {
    const author = await makeUser(node, { shard: shardIn(node, 1) });
    const [liker, other] = await people({ shard: shardIn(node, 0) });
    const socket = await w.inbox(author);
    const post = await w.post(author);

    await w.like(post, [liker.id]);
    await w.like(post, [liker.id]); // the likes capability retried the commit's event
    await w.settled();
    const first = await w.list(author);
    expect(first.unreadCount).toBe(1);
    expect(first.items).toHaveLength(1);
    const n = first.items[0];
    expect(n).toMatchObject({
      type: 'like',
      count: 1,
      postId: post.id,
      actors: [{ id: liker.id, username: liker.username }],
      text: `${liker.username} liked your photo`,
      version: 1,
      read: false,
      seen: false,
    });
    await until(() => socket.notifications().length === 1, 5000, 'the live notification');
    expect(socket.events[0]).toEqual({ type: 'notification', notification: n, unreadCount: 1 });
    expect(await rowsPerDb(author)).toEqual([0, 1]);

    // like → unlike → like by another, each committed (and processed) after the other.
    for (const step of [
      () => w.like(post, [other.id]),
      () => w.like(post, [], [other.id]),
      () => w.like(post, [other.id]),
    ]) {
      await step();
      await w.settled();
    }
    const after = await w.list(author);
    expect(after.items.map((x: { id: string; count: number }) => [x.id, x.count])).toEqual([[n.id, 1]]);
    await until(() => socket.notifications().length === 3, 5000, 'fold and withdrawal live');
    expect(socket.notifications().map((x) => [x.version, x.count, x.actors.map((a) => a.id)])).toEqual([
      [1, 1, [liker.id]],
      [2, 2, [other.id, liker.id]],
      [3, 1, [liker.id]],
    ]);
  });

  it('folds the likes of one post into "A and 12 others", the latest actors first; read starts a new one', async () => {
    const author = await makeUser(node);
    const likers = await makeUsers(node, 14);
    const post = await w.post(author);
    // Ten commits at once: their events share jobs (group-enqueued), each event folds in turn.
    await Promise.all(likers.slice(0, 10).map((l) => w.like(post, [l.id])));
    // Jobs run concurrently: the latest actors are those applied last.
    await w.settled();
    await w.like(
      post,
      likers.slice(10, 13).map((l) => l.id),
    ); // one group commit of three
    await w.settled();
    const page = await w.list(author);
    expect(page.items).toHaveLength(1);
    const [l10, l11, l12] = likers.slice(10, 13) as [TestUser, TestUser, TestUser];
    expect(page.items[0]).toMatchObject({
      type: 'like',
      count: 13,
      actors: [l12, l11, l10].map((l) => ({ id: l.id, username: l.username })),
      text: `${l12.username} and 12 others liked your photo`,
    });
    expect(page.items[0].version).toBe(11);

    await w.ok(author, 'POST', '/v1/notifications/read', { all: true });
    await w.like(post, [(likers[13] as TestUser).id]);
    await w.settled();
    const next = await w.list(author);
    expect(next.items.map((x: { count: number; read: boolean }) => [x.count, x.read])).toEqual([
      [1, false],
      [13, true],
    ]);
  });

  it('an unlike withdraws an unseen like; a seen one stays', async () => {
    const [author, liker] = await people();
    const socket = await w.inbox(author);
    const unseen = await w.post(author);
    await w.like(unseen, [liker.id]);
    await w.settled();
    const [n] = (await w.list(author)).items;
    await w.like(unseen, [], [liker.id]);
    await w.settled();
    expect(await w.list(author)).toMatchObject({ items: [], unreadCount: 0 });
    await until(() => socket.events.length === 2, 5000, 'the withdrawal live');
    expect(socket.events[1]).toEqual({ type: 'notification.removed', id: n.id, unreadCount: 0 });

    const seen = await w.post(author);
    await w.like(seen, [liker.id]);
    await w.settled();
    const [m] = (await w.list(author)).items;
    expect(await w.ok(author, 'POST', '/v1/notifications/shown', { ids: [m.id] })).toEqual({ updated: 1 });
    await w.like(seen, [], [liker.id]);
    await w.settled();
    const page = await w.list(author);
    expect(page.items.map((x: { id: string; seen: boolean }) => [x.id, x.seen])).toEqual([[m.id, true]]);
  });
});

describe('what a recipient does not get', () => {
  it('an opted-out type never arrives; settings are validated and replaced whole', async () => {
    const [author, fan, commenter] = await people();
    const socket = await w.inbox(author);
    expect(await w.ok(author, 'GET', '/v1/notifications/settings')).toEqual({ muted: [] });
    expect(await w.ok(author, 'PUT', '/v1/notifications/settings', { muted: ['follow', 'like'] })).toEqual({
      muted: ['like', 'follow'],
    });
    const bad = await http(node, author, 'PUT', '/v1/notifications/settings', { muted: ['like', 'pokes'] });
    expect([bad.status, bad.body.error.code]).toEqual([400, 'bad_request']);
    expect(await w.ok(author, 'GET', '/v1/notifications/settings')).toEqual({ muted: ['like', 'follow'] });

    const post = await w.post(author);
    await w.like(post, [fan.id]);
    await w.ok(fan, 'PUT', `/v1/users/${author.id}/follow`);
    await w.comment(post, commenter.id, 'lovely light');
    await w.settled();
    const page = await w.list(author);
    expect(page.items.map((x: { type: string; text: string }) => [x.type, x.text])).toEqual([
      ['comment', `${commenter.username} commented: lovely light`],
    ]);
    await until(() => socket.events.length >= 1, 5000, 'the comment live');
    expect(socket.notifications().map((x) => x.type)).toEqual(['comment']);
  });

  it('nothing from a user the recipient blocks or who blocks them; a block drops what is there', async () => {
    const [author, blockedByAuthor, blocksAuthor, friend] = await people();
    const socket = await w.inbox(author);
    await w.ok(author, 'PUT', `/v1/users/${blockedByAuthor.id}/block`);
    await w.ok(blocksAuthor, 'PUT', `/v1/users/${author.id}/block`);
    const post = await w.post(author);
    await w.like(post, [blockedByAuthor.id, blocksAuthor.id]);
    await w.comment(post, blockedByAuthor.id, 'hello?');
    await w.like(post, [friend.id]);
    await w.settled();
    const page = await w.list(author);
    expect(page.items.map((x: { type: string; count: number }) => [x.type, x.count])).toEqual([['like', 1]]);
    const n = page.items[0];
    expect(n.actors.map((a: { id: string }) => a.id)).toEqual([friend.id]);

    await w.ok(author, 'PUT', `/v1/users/${friend.id}/block`);
    await w.settled();
    expect((await w.list(author)).items).toEqual([]);
    await until(() => socket.events.some((e) => e.type === 'notification.removed'), 5000, 'dropped live');
    expect(socket.events.map((e) => e.type)).toEqual(['notification', 'notification.removed']);
  });

  it('never tells a user about themselves, nor about a private post they cannot see', async () => {
    const [author, mentioned, follower] = await people();
    const hidden = await makeUser(node, { private: true });
    await w.like(await w.post(author), [author.id]);
    await w.ok(follower, 'PUT', `/v1/users/${hidden.id}/follow`);
    await w.ok(hidden, 'POST', `/v1/me/follow-requests/${follower.id}/approve`);
    await w.post(hidden, `with @${mentioned.username} and @${follower.username} and @${hidden.username}`);
    await w.settled();
    expect((await w.list(author)).items).toEqual([]);
    expect((await w.list(mentioned)).items).toEqual([]);
    const seen = (await w.list(follower)).items.map((x: { type: string }) => x.type);
    expect(seen).toEqual(['mention', 'follow_approved']);
  });
});

describe('follows, requests, mentions and replies', () => {
  it('a request, its approval (which withdraws the unseen request), a follow, a caption mention, a reply', async () => {
    const [fan, author, replier] = await people();
    const priv = await makeUser(node, { private: true });
    await w.ok(fan, 'PUT', `/v1/users/${priv.id}/follow`);
    await w.settled();
    expect((await w.list(priv)).items.map((x: { text: string }) => x.text)).toEqual([
      `${fan.username} asked to follow you`,
    ]);
    // One step at a time, so the list's order (most recent first) is the steps' order.
    await w.ok(priv, 'POST', `/v1/me/follow-requests/${fan.id}/approve`);
    await w.settled();
    await w.ok(author, 'PUT', `/v1/users/${fan.id}/follow`);
    await w.settled();
    const post = await w.post(author, `morning walk with @${fan.username.toUpperCase()}.`);
    await w.settled();
    const comment = await w.comment(post, fan.id, 'thanks!');
    await w.settled();
    await w.comment(post, replier.id, `@${fan.username} you are welcome`, {
      parent: { id: comment, author: fan.id },
      mentionIds: [fan.id, author.id],
    });
    await w.settled();
    expect((await w.list(priv)).items).toEqual([]);
    const texts = (await w.list(fan)).items.map((x: { text: string }) => x.text);
    expect(texts).toEqual([
      `${replier.username} replied to your comment: @${fan.username} you are welcome`,
      `${author.username} mentioned you in a post`,
      `${author.username} started following you`,
      `${priv.username} accepted your follow request`,
    ]);
    // The post's author: the fan's comment and the reply (which mentions them too) fold as comments on the post.
    const mine = (await w.list(author)).items;
    expect(mine.map((x: { type: string; count: number; text: string }) => [x.type, x.count, x.text])).toEqual(
      [['comment', 2, `${replier.username} and ${fan.username} left 2 comments on your photo`]],
    );
  });
});

describe('withdrawn with what they are about', () => {
  it('a deleted comment takes back its comment, reply and mention; a deleted post its likes', async () => {
    const [author, parentAuthor, commenter, mentioned] = await people();
    const post = await w.post(author);
    const parent = await w.comment(post, parentAuthor.id, 'first');
    await w.settled();
    const comment = await w.comment(post, commenter.id, `@${mentioned.username} look`, {
      parent: { id: parent, author: parentAuthor.id },
      mentionIds: [mentioned.id],
    });
    await w.settled();
    const types = async (u: TestUser) => (await w.list(u)).items.map((x: { type: string }) => x.type);
    expect([await types(author), await types(parentAuthor), await types(mentioned)]).toEqual([
      ['comment'],
      ['reply'],
      ['mention'],
    ]);
    expect((await w.list(author)).items[0].count).toBe(2);
    await node.ports.events.emit({
      type: 'comment.deleted',
      commentId: comment,
      postId: post.id,
      postAuthorId: author.id,
      authorId: commenter.id,
    });
    await w.settled();
    expect([await types(author), await types(parentAuthor), await types(mentioned)]).toEqual([
      ['comment'],
      [],
      [],
    ]);
    expect((await w.list(author)).items[0]).toMatchObject({ count: 1, actors: [{ id: parentAuthor.id }] });

    await w.like(post, [commenter.id]);
    await w.settled();
    expect(await types(author)).toEqual(['like', 'comment']);
    await w.ok(author, 'DELETE', `/v1/posts/${post.id}`);
    await w.settled();
    expect(await w.list(author)).toMatchObject({ items: [], unreadCount: 0 });
  });

  it("an account deletion removes the account's notifications and settings", async () => {
    const [me, fan] = await people();
    await w.ok(me, 'PUT', '/v1/notifications/settings', { muted: ['like'] });
    await w.ok(fan, 'PUT', `/v1/users/${me.id}/follow`);
    await w.settled();
    expect(await rowsPerDb(me)).not.toEqual([0, 0]);
    // As accounts.delete does: the row marked deleted, then the durable removal (graph, posts, feed, notifications).
    await node.db.forId(me.id).query('UPDATE users SET deleted_at = now() WHERE id = $1', [me.id]);
    await node.ports.userDeleted(me.id);
    await w.settled(); // the unfollow it caused runs after, and finds nobody to write for
    expect(await rowsPerDb(me)).toEqual([0, 0]);
    const left = await node.db.forId(me.id).query<{ n: number }>(
      `SELECT (SELECT count(*) FROM notification_sources WHERE recipient_id = $1)
              + (SELECT count(*) FROM notification_users WHERE user_id = $1) AS n`,
      [me.id],
    );
    expect(Number(left.rows[0]?.n)).toBe(0);
  });
});

describe('list, read, unread', () => {
  it('pages newest first with a cursor; marks one and all read; refuses bad input and changes nothing', async () => {
    const me = await makeUser(node);
    const fans = await makeUsers(node, 5);
    const socket = await w.inbox(me);
    for (const f of fans) {
      await w.ok(f, 'PUT', `/v1/users/${me.id}/follow`);
      await w.settled();
    }
    const ids: string[] = [];
    let cursor = '';
    for (let i = 0; i < 5; i++) {
      const page = await w.list(me, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      ids.push(...page.items.map((x: { id: string }) => x.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    const actors = (await w.list(me)).items.map((x: { actors: { id: string }[] }) => x.actors[0]?.id);
    expect(actors).toEqual(fans.map((f) => f.id).reverse());
    expect(ids).toEqual((await w.list(me)).items.map((x: { id: string }) => x.id));
    const badCursor = await http(node, me, 'GET', '/v1/notifications?cursor=abc');
    expect([badCursor.status, badCursor.body.error.code]).toEqual([400, 'invalid_cursor']);

    for (const body of [{}, { ids: [ids[0]], all: true }, { ids: ['nope'] }, { ids: [] }, { all: false }]) {
      const r = await http(node, me, 'POST', '/v1/notifications/read', body);
      expect([r.status, r.body.error?.code], JSON.stringify(body)).toEqual([400, 'bad_request']);
    }
    expect(await w.ok(me, 'GET', '/v1/notifications/unread')).toEqual({ unreadCount: 5 });
    const stranger = await makeUser(node);
    expect(await w.ok(stranger, 'POST', '/v1/notifications/read', { ids: [ids[0]] })).toEqual({
      updated: 0,
      unreadCount: 0,
    });
    expect(await w.ok(me, 'POST', '/v1/notifications/read', { ids: [ids[0]] })).toEqual({
      updated: 1,
      unreadCount: 4,
    });
    expect(await w.ok(me, 'POST', '/v1/notifications/read', { ids: [ids[0]] })).toEqual({
      updated: 0,
      unreadCount: 4,
    });
    expect(await w.ok(me, 'POST', '/v1/notifications/read', { all: true })).toEqual({
      updated: 4,
      unreadCount: 0,
    });
    expect(await w.ok(me, 'GET', '/v1/notifications/unread')).toEqual({ unreadCount: 0 });
    const page = await w.list(me);
    expect(page.items.every((x: { read: boolean; seen: boolean }) => x.read && x.seen)).toBe(true);
    await until(
      () => socket.events.filter((e) => e.type === 'notifications.read').length === 2,
      5000,
      'reads',
    );
    expect(socket.events.filter((e) => e.type === 'notifications.read')).toEqual([
      { type: 'notifications.read', ids: [ids[0]], unreadCount: 4 },
      { type: 'notifications.read', ids: null, unreadCount: 0 },
    ]);
    const anon = await http(node, undefined, 'GET', '/v1/notifications');
    expect([anon.status, anon.body.error.code]).toEqual([401, 'unauthenticated']);
  });
});
