import { ShutterError } from '@shutter/protocol';
import type { OperationContext } from '../operation.js';
import { selectPost } from '../posts/post-rows.js';
import { postIfSeen } from './access.js';
import { announceDeleted } from './announce.js';
import { selectComment } from './comment-rows.js';
import { deletedWith, markCommentDeleted } from './comment-writes.js';

/**
 * `comments.delete`: by the comment's author or the post's author, else
 * `forbidden` — or `not_found` when the caller cannot see the post (or the
 * comment is gone), as for a comment that never was. The id alone finds the
 * database: a comment id carries its post's shard. Deleting again answers
 * the same and announces again (the events of a crash between commit and
 * announce are repaired by the retry).
 */
export async function deleteComment(
  ctx: OperationContext,
  id: string,
): Promise<{ id: string; postId: string; deleted: true }> {
  const me = ctx.caller.userId;
  const sql = ctx.db.forId(id);
  const comment = await selectComment(sql, id);
  const post = comment ? await selectPost(ctx.db, comment.postId) : undefined;
  if (!comment || !post) throw new ShutterError('not_found', 'no comment with that id');
  if (comment.authorId !== me && post.authorId !== me) {
    if (comment.deleted || !(await postIfSeen(ctx, me, post.id)))
      throw new ShutterError('not_found', 'no comment with that id');
    throw new ShutterError('forbidden', "only its author or the post's author may delete a comment");
  }
  const gone = comment.deleted ? await deletedWith(sql, id) : await markCommentDeleted(sql, comment);
  await announceDeleted(ctx, post, gone);
  return { id, postId: comment.postId, deleted: true };
}
