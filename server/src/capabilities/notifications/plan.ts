import type { NotificationType } from '@shutter/protocol';
import type { Databases } from '../../storage/databases.js';
import { Users } from '../accounts/users.js';
import type { NotifyEvent } from './jobs.js';

/** One actor's part of a notification, keyed by its event (`like:<post>:<liker>`…). */
export interface Add {
  type: NotificationType;
  /** The dedup key: the same key never notifies twice (unless withdrawn unseen). */
  key: string;
  /** What folds together: `like:<post>`, `comment:<post>`; the key itself for the other types. */
  group: string;
  actor: string;
  postId: string | null;
  /** The post's author, when `postId` is set: a recipient who may not see the post is not told. */
  postAuthorId: string | null;
  commentId: string | null;
  snippet: string | null;
}

/** An event key taken back (an unlike, an unfollow, a deleted comment). */
export interface Withdraw {
  key: string;
  actor: string;
}

/** What one event asks of one recipient's notifications. */
export interface RecipientWork {
  recipient: string;
  adds: Add[];
  withdraws: Withdraw[];
  /** Takes this user out of every notification of the recipient, seen or not (a block). */
  dropActor?: string;
}

/** What one event asks, recipient by recipient, plus what is found by searching every database. */
export interface Plan {
  work: RecipientWork[];
  /** Keys withdrawn from whoever holds them (a deleted comment's mentions and reply). */
  scanKeys: string[];
  /** A deleted post: its unseen notifications go, for every recipient. */
  deletedPost: string | null;
}

/** The start of a comment a notification shows. */
export const SNIPPET_LENGTH = 100;

/** What an event means for whom. Self-notifications are left to the filter (one rule for all). */
export async function planEvent(db: Databases, job: NotifyEvent): Promise<Plan> {
  const plan: Plan = { work: [], scanKeys: [], deletedPost: null };
  const work = (recipient: string): RecipientWork => {
    let w = plan.work.find((x) => x.recipient === recipient);
    if (!w) plan.work.push((w = { recipient, adds: [], withdraws: [] }));
    return w;
  };
  const single = (type: NotificationType, key: string, actor: string, about: Partial<Add> = {}): Add => ({
    type,
    key,
    group: key,
    actor,
    postId: null,
    postAuthorId: null,
    commentId: null,
    snippet: null,
    ...about,
  });
  switch (job.k) {
    case 'likes': {
      const w = work(job.authorId);
      for (const liker of job.liked)
        w.adds.push({
          ...single('like', `like:${job.postId}:${liker}`, liker),
          group: `like:${job.postId}`,
          postId: job.postId,
          postAuthorId: job.authorId,
        });
      for (const liker of job.unliked) w.withdraws.push({ key: `like:${job.postId}:${liker}`, actor: liker });
      break;
    }
    case 'comment': {
      // One notification per recipient per comment: a reply beats a comment beats a mention.
      const types = new Map<string, NotificationType>();
      if (job.parentAuthorId && job.parentAuthorId !== job.authorId) types.set(job.parentAuthorId, 'reply');
      if (!types.has(job.postAuthorId)) types.set(job.postAuthorId, 'comment');
      for (const m of job.mentionIds) if (!types.has(m)) types.set(m, 'mention');
      const key = `comment:${job.commentId}`;
      const about = {
        postId: job.postId,
        postAuthorId: job.postAuthorId,
        commentId: job.commentId,
        snippet: job.text.slice(0, SNIPPET_LENGTH),
      };
      for (const [recipient, type] of types) {
        const add = single(type, key, job.authorId, about);
        if (type === 'comment') add.group = `comment:${job.postId}`;
        work(recipient).adds.push(add);
      }
      break;
    }
    case 'comment.deleted': {
      const key = `comment:${job.commentId}`;
      // The post's author is known (a tombstone there guards against the create arriving later); the rest are searched.
      work(job.postAuthorId).withdraws.push({ key, actor: job.authorId });
      plan.scanKeys.push(key);
      break;
    }
    case 'post': {
      const mentioned = await mentionedIds(db, job.postId);
      for (const m of mentioned)
        work(m).adds.push(
          single('mention', `post:${job.postId}`, job.authorId, {
            postId: job.postId,
            postAuthorId: job.authorId,
          }),
        );
      break;
    }
    case 'post.deleted':
      plan.deletedPost = job.postId;
      break;
    case 'follow': {
      const { follower, followee } = job;
      if (job.state === 'pending')
        work(followee).adds.push(single('follow_request', `request:${follower}`, follower));
      else if (job.state === 'active' && !job.approved)
        work(followee).adds.push(single('follow', `follow:${follower}`, follower));
      else if (job.state === 'active') {
        work(follower).adds.push(single('follow_approved', `approved:${followee}`, followee));
        work(followee).withdraws.push({ key: `request:${follower}`, actor: follower });
      } else
        work(followee).withdraws.push(
          { key: `follow:${follower}`, actor: follower },
          { key: `request:${follower}`, actor: follower },
        );
      break;
    }
    case 'block':
      work(job.blocker).dropActor = job.blocked;
      work(job.blocked).dropActor = job.blocker;
      break;
    default: {
      const never: never = job;
      throw new Error(`unknown notification job ${JSON.stringify(never)}`);
    }
  }
  return plan;
}

/**
 * The accounts a live post's caption @mentions: its `mentions` column
 * (lower-cased usernames, as parsed at creation) resolved to user ids, one
 * query per database holding some of the names, then the live accounts
 * among them. A deleted post mentions no one.
 */
async function mentionedIds(db: Databases, postId: string): Promise<string[]> {
  const r = await db
    .forId(postId)
    .query<{ mentions: string[] }>('SELECT mentions FROM posts WHERE id = $1 AND deleted_at IS NULL', [
      postId,
    ]);
  const names = r.rows[0]?.mentions ?? [];
  if (names.length === 0) return [];
  const byDb = new Map<ReturnType<Databases['forKey']>, string[]>();
  for (const n of names) {
    const sql = db.forKey(n);
    byDb.set(sql, [...(byDb.get(sql) ?? []), n]);
  }
  const found = await Promise.all(
    [...byDb].map(([sql, part]) =>
      sql.query<{ user_id: string }>('SELECT user_id::text AS user_id FROM usernames WHERE name = ANY($1)', [
        part,
      ]),
    ),
  );
  // A claim may outlive its account for a moment (a registration that crashed half-way): live users only.
  const users = await new Users(db).many(found.flatMap((x) => x.rows.map((u) => u.user_id)));
  return [...users.keys()];
}
