import { newId, ShutterError } from '@shutter/protocol';
import { describe, expect, it } from 'vitest';
import { Changes, LiveBudget } from './changes.js';
import { stampNow } from './jobs.js';
import { planEvent } from './plan.js';
import { decodeCursor, encodeCursor } from './reads.js';
import { renderText } from './render.js';

const actor = (username: string) => ({ id: newId(1), username, displayName: username, avatarMediaId: null });
const [alice, bob, carol] = [actor('alice'), actor('bob'), actor('carol')];
const row = (type: Parameters<typeof renderText>[0]['type'], count = 1, extra = {}) => ({
  type,
  count,
  snippet: null,
  comment_id: null,
  ...extra,
});

describe('renderText', () => {
  it('folds likes into "A and N others"', () => {
    expect(renderText(row('like'), [alice])).toBe('alice liked your photo');
    expect(renderText(row('like', 2), [alice, bob])).toBe('alice and bob liked your photo');
    expect(renderText(row('like', 13), [alice, bob, carol])).toBe('alice and 12 others liked your photo');
    expect(renderText(row('like', 5), [])).toBe('5 people liked your photo');
  });

  it('quotes a comment, counts folded comments by their distinct authors', () => {
    const c = { snippet: 'nice shot', comment_id: newId(1) };
    expect(renderText(row('comment', 1, c), [alice])).toBe('alice commented: nice shot');
    expect(renderText(row('comment', 3, c), [alice])).toBe('alice left 3 comments on your photo');
    expect(renderText(row('comment', 4, c), [alice, bob, carol])).toBe(
      'alice, bob and others left 4 comments on your photo',
    );
    expect(renderText(row('reply', 1, c), [bob])).toBe('bob replied to your comment: nice shot');
    expect(renderText(row('mention', 1, c), [bob])).toBe('bob mentioned you in a comment: nice shot');
    expect(renderText(row('mention'), [bob])).toBe('bob mentioned you in a post');
  });

  it('says who follows, asks to, or accepted; "Someone" when the account is gone', () => {
    expect(renderText(row('follow'), [carol])).toBe('carol started following you');
    expect(renderText(row('follow_request'), [carol])).toBe('carol asked to follow you');
    expect(renderText(row('follow_approved'), [carol])).toBe('carol accepted your follow request');
    expect(renderText(row('follow'), [])).toBe('Someone started following you');
  });
});

describe('notifications cursor', () => {
  it('round-trips (updated_at, id) and refuses anything else with invalid_cursor', () => {
    const id = newId(7);
    expect(decodeCursor(encodeCursor(1_700_000_000_123, id))).toEqual({ updatedAt: 1_700_000_000_123, id });
    for (const bad of [
      'xyz',
      '',
      Buffer.from(`n1:abc:${id}`).toString('base64url'),
      encodeCursor(1, 'nope'),
    ]) {
      const err = (() => {
        try {
          decodeCursor(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ShutterError);
      expect((err as ShutterError).code).toBe('invalid_cursor');
    }
  });
});

describe('stampNow', () => {
  it('grows within one millisecond and never goes back', () => {
    const a = stampNow(1000);
    const b = stampNow(1000);
    const c = stampNow(999);
    expect(b).toBeGreaterThan(a);
    expect(c).toBeGreaterThan(b);
    expect(stampNow(5000)).toBe(5_000_000);
  });
});

describe('planEvent', () => {
  // Jobs that need no database (every kind but a post's mentions).
  const db = undefined as never;
  const [post, author, liker, other, parent] = [newId(1), newId(1), newId(2), newId(3), newId(4)];

  it('likes: one group per post, a key per liker; unlikes withdraw those keys', async () => {
    const plan = await planEvent(db, {
      k: 'likes',
      postId: post,
      authorId: author,
      liked: [liker],
      unliked: [other],
      at: 1,
    });
    expect(plan.work).toEqual([
      {
        recipient: author,
        adds: [
          {
            type: 'like',
            key: `like:${post}:${liker}`,
            group: `like:${post}`,
            actor: liker,
            postId: post,
            postAuthorId: author,
            commentId: null,
            snippet: null,
          },
        ],
        withdraws: [{ key: `like:${post}:${other}`, actor: other }],
      },
    ]);
  });

  it('a comment: a reply beats a comment beats a mention, one notification per recipient', async () => {
    const comment = newId(1);
    const plan = await planEvent(db, {
      k: 'comment',
      commentId: comment,
      postId: post,
      postAuthorId: author,
      authorId: liker,
      parentAuthorId: author,
      mentionIds: [author, other, other],
      text: 'x'.repeat(150),
      at: 1,
    });
    expect(
      plan.work.map((w) => [w.recipient, w.adds.map((a) => [a.type, a.group, a.snippet?.length])]),
    ).toEqual([
      [author, [['reply', `comment:${comment}`, 100]]],
      [other, [['mention', `comment:${comment}`, 100]]],
    ]);
    const plain = await planEvent(db, {
      k: 'comment',
      commentId: comment,
      postId: post,
      postAuthorId: author,
      authorId: liker,
      parentAuthorId: parent,
      mentionIds: [],
      text: 'hi',
      at: 1,
    });
    expect(plain.work.map((w) => [w.recipient, w.adds[0]?.type, w.adds[0]?.group])).toEqual([
      [parent, 'reply', `comment:${comment}`],
      [author, 'comment', `comment:${post}`],
    ]);
  });

  it('follows: a request, a follow, an approval (which withdraws the request), an unfollow', async () => {
    const f = (state: 'active' | 'pending' | 'none', approved = false) =>
      planEvent(db, { k: 'follow', follower: liker, followee: author, state, approved, at: 1 });
    const summary = (p: Awaited<ReturnType<typeof f>>) =>
      p.work.map((w) => [
        w.recipient,
        w.adds.map((a) => `${a.type} ${a.key}`),
        w.withdraws.map((x) => x.key),
      ]);
    expect(summary(await f('pending'))).toEqual([[author, [`follow_request request:${liker}`], []]]);
    expect(summary(await f('active'))).toEqual([[author, [`follow follow:${liker}`], []]]);
    expect(summary(await f('active', true))).toEqual([
      [liker, [`follow_approved approved:${author}`], []],
      [author, [], [`request:${liker}`]],
    ]);
    expect(summary(await f('none'))).toEqual([[author, [], [`follow:${liker}`, `request:${liker}`]]]);
  });

  it('a block drops each from the other; a deleted comment is searched for; a deleted post is named', async () => {
    const block = await planEvent(db, { k: 'block', blocker: author, blocked: liker, at: 1 });
    expect(block.work.map((w) => [w.recipient, w.dropActor])).toEqual([
      [author, liker],
      [liker, author],
    ]);
    const c = newId(1);
    const del = await planEvent(db, {
      k: 'comment.deleted',
      commentId: c,
      postId: post,
      postAuthorId: author,
      authorId: liker,
      at: 1,
    });
    expect([del.scanKeys, del.work[0]?.withdraws]).toEqual([
      [`comment:${c}`],
      [{ key: `comment:${c}`, actor: liker }],
    ]);
    expect((await planEvent(db, { k: 'post.deleted', postId: post, at: 1 })).deletedPost).toBe(post);
  });
});

describe('LiveBudget and Changes', () => {
  const row = (id: string) => ({ id }) as never;
  it('gives at most the limit a minute, starting a new window after it', () => {
    const b = new LiveBudget(1000, 2, 30_000, 3);
    expect([b.take(), b.take(), b.start]).toEqual([true, false, 1000]);
    const later = new LiveBudget(1000, 3, 61_000, 3);
    expect([later.used, later.start, later.take()]).toEqual([0, 61_000, true]);
  });

  it('settles the changed notifications in order; a deleted one is removed, a touched one read again', () => {
    const c = new Changes();
    c.written('like:p', row('a'), true);
    expect(c.isLiveGroup('like:p')).toBe(true);
    c.touched('b');
    c.written('follow:x', row('c'), false);
    c.touched('a');
    c.deleted('d');
    const b = new LiveBudget(0, 0, 0, 1); // one left: 'b' (the first not live yet) takes it, 'c' does not
    expect(c.settle(b)).toEqual(['a', 'b']);
    c.refresh([row('a'), row('b')]);
    expect(c.live().map((r) => r.id)).toEqual(['a', 'b']);
    expect(c.removed).toEqual(['d']);
  });
});
