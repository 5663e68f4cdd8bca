import { randomUUID } from 'node:crypto';
import type { JobQueue } from '../../jobs/index.js';
import type { DomainEvents } from '../events.js';
import { GroupEnqueue } from './group-enqueue.js';

/**
 * One domain event, as a notification job carries it. `at` is the event's
 * stamp (`stampNow`): events of one thing (a post's likes, a pair's
 * follow) are emitted one after the other on the node that owns it, so
 * their stamps order them, and the writer ignores an event older than what
 * it already applied for a key — jobs may run in any order.
 */
export type NotifyEvent =
  | { k: 'likes'; postId: string; authorId: string; liked: string[]; unliked: string[]; at: number }
  | {
      k: 'comment';
      commentId: string;
      postId: string;
      postAuthorId: string;
      authorId: string;
      parentAuthorId: string | null;
      mentionIds: string[];
      text: string;
      at: number;
    }
  | {
      k: 'comment.deleted';
      commentId: string;
      postId: string;
      postAuthorId: string;
      authorId: string;
      at: number;
    }
  | { k: 'post'; postId: string; authorId: string; at: number }
  | { k: 'post.deleted'; postId: string; at: number }
  | {
      k: 'follow';
      follower: string;
      followee: string;
      state: 'active' | 'pending' | 'none';
      approved: boolean;
      at: number;
    }
  | { k: 'block'; blocker: string; blocked: string; at: number };

/** A notification job: the events enqueued together (one, or all that came while the last enqueue was in flight). */
export interface NotifyJob {
  events: NotifyEvent[];
}

/** Most likers in one event of a job: a bigger group commit is split, so a job stays small on the queue. */
export const LIKES_PER_JOB = 500;
/** A job's largest weight (events count 1, a likes event its likers). */
const JOB_WEIGHT = 1000;

let lastStamp = 0;

/**
 * A stamp that grows on this node even within one millisecond (ms × 1000 +
 * a counter): two events of one post emitted in the same ms keep their
 * order. Across nodes (a post's shard moved) it relies on their clocks.
 */
export function stampNow(now: number): number {
  lastStamp = Math.max(now * 1000, lastStamp + 1);
  return lastStamp;
}

/**
 * Turns the domain events notifications come from into durable jobs. Each
 * handler only enqueues (the queue's `enqueue` is durable when it resolves),
 * so the event's emitter answers once its job is stored and a crash after
 * it loses nothing. Enqueues are group-committed (`GroupEnqueue`): events
 * that arrive while one is in flight go in the next job together. Job ids
 * are fresh: deduplication is the writer's, by event key, so like → unlike
 * → like is three events.
 */
export function enqueueFromEvents(events: DomainEvents, queue: JobQueue<NotifyJob>, now: () => number): void {
  const group = new GroupEnqueue<NotifyEvent>(
    (batch) => queue.enqueue(`n-${randomUUID()}`, { events: batch }),
    JOB_WEIGHT,
  );
  const put = (e: NotifyEvent) => group.add(e, e.k === 'likes' ? e.liked.length + e.unliked.length : 1);
  events.on('likes.changed', async (e) => {
    const at = stampNow(now());
    const liked = e.liked.map((l) => l.userId);
    const unliked = [...e.unliked];
    // A big group commit goes as several events of at most LIKES_PER_JOB likers each, all with its stamp.
    for (let i = 0; i === 0 || i < Math.max(liked.length, unliked.length); i += LIKES_PER_JOB) {
      await put({
        k: 'likes',
        postId: e.postId,
        authorId: e.authorId,
        liked: liked.slice(i, i + LIKES_PER_JOB),
        unliked: unliked.slice(i, i + LIKES_PER_JOB),
        at,
      });
    }
  });
  events.on('comment.created', (e) =>
    put({
      k: 'comment',
      commentId: e.commentId,
      postId: e.postId,
      postAuthorId: e.postAuthorId,
      authorId: e.authorId,
      parentAuthorId: e.parentAuthorId ?? null,
      mentionIds: [...e.mentionIds],
      text: e.text,
      at: stampNow(now()),
    }),
  );
  events.on('comment.deleted', (e) =>
    put({
      k: 'comment.deleted',
      commentId: e.commentId,
      postId: e.postId,
      postAuthorId: e.postAuthorId,
      authorId: e.authorId,
      at: stampNow(now()),
    }),
  );
  events.on('post.created', (e) =>
    put({ k: 'post', postId: e.postId, authorId: e.authorId, at: stampNow(now()) }),
  );
  events.on('post.deleted', (e) => put({ k: 'post.deleted', postId: e.postId, at: stampNow(now()) }));
  events.on('follow.changed', (e) =>
    put({
      k: 'follow',
      follower: e.follower,
      followee: e.followee,
      state: e.state,
      approved: e.approved === true,
      at: stampNow(now()),
    }),
  );
  events.on('block.changed', async (e) => {
    if (e.on) await put({ k: 'block', blocker: e.blocker, blocked: e.blocked, at: stampNow(now()) });
  });
}
