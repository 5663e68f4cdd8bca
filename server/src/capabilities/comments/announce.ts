import { type Comment, type CommentEvent, postStream } from '@shutter/protocol';
import type { CapabilityPorts } from '../operation.js';
import type { CommentRow } from './comment-rows.js';
import type { GoneComment } from './comment-writes.js';

/** What announcing needs: the domain events and the stream publisher. */
export type AnnouncePorts = Pick<CapabilityPorts, 'events' | 'streams'>;

/**
 * After the commit of a new comment: `comment.created` for the other
 * capabilities (notifications), awaited, then `{ type: 'comment' }` on the
 * post's stream for its viewers. A retried add of a live comment announces
 * again (a crash between commit and announce is repaired by the client's
 * retry): handlers and viewers see it at least once.
 */
export async function announceAdded(
  ports: AnnouncePorts,
  row: CommentRow,
  comment: Comment,
  about: { postAuthorId: string; parentAuthorId: string | undefined },
): Promise<void> {
  await ports.events.emit({
    type: 'comment.created',
    commentId: row.id,
    postId: row.postId,
    postAuthorId: about.postAuthorId,
    authorId: row.authorId,
    ...(row.parentId !== null && about.parentAuthorId !== undefined
      ? { parentId: row.parentId, parentAuthorId: about.parentAuthorId }
      : {}),
    mentionIds: row.mentionIds,
    text: row.text,
    createdAt: row.createdAt,
  });
  const event: CommentEvent = { type: 'comment', comment };
  await ports.streams.publish(postStream(row.postId), event);
}

/**
 * After the commit of a delete: `comment.deleted` for each comment it took
 * (a top-level one and its replies), then on the post's stream one
 * `comment_deleted` per comment whose top-level comment did not go with it
 * (a client drops a deleted comment's replies itself).
 */
export async function announceDeleted(
  ports: AnnouncePorts,
  post: { id: string; authorId: string },
  gone: readonly GoneComment[],
): Promise<void> {
  if (gone.length === 0) return;
  for (const c of gone)
    await ports.events.emit({
      type: 'comment.deleted',
      commentId: c.id,
      postId: post.id,
      postAuthorId: post.authorId,
      authorId: c.authorId,
    });
  const ids = new Set(gone.map((c) => c.id));
  const shown = gone.filter((c) => c.parentId === null || !ids.has(c.parentId));
  await ports.streams.publishBatch(
    shown.map((c) => {
      const data: CommentEvent = { type: 'comment_deleted', id: c.id, postId: post.id };
      return { stream: postStream(post.id), data };
    }),
  );
}
