import type { Comment, MethodParams } from '@shutter/protocol';
import { ShutterError, shardOfId, timeOfId } from '@shutter/protocol';
import { Users } from '../accounts/users.js';
import type { OperationContext } from '../operation.js';
import { MAX_ID_AHEAD_MS } from '../posts/create.js';
import { seenPost } from './access.js';
import { announceAdded } from './announce.js';
import { type CommentRow, selectComment } from './comment-rows.js';
import { insertComment } from './comment-writes.js';
import { hydrateAuthor, toComment } from './hydrate.js';
import { parseCommentMentions, resolveMentions } from './mentions.js';

/**
 * `comments.add`. Every check runs before the write, so a refusal changes
 * nothing: the text (not blank; at most 20 mentions), the ids (the comment's
 * and the parent's on the post's shard), the post (live, and the caller
 * may see it), the caller's account, the parent (a comment of this post).
 * A reply to a reply is stored under that reply's top-level comment.
 *
 * An id already stored is a retry: the same post, author, text and
 * top-level parent answer the stored comment (announced again when live,
 * see `announce.ts`); anything else is `conflict`.
 */
export async function addComment(ctx: OperationContext, p: MethodParams<'comments.add'>): Promise<Comment> {
  const me = ctx.caller.userId;
  if (p.text.trim().length === 0)
    throw new ShutterError('bad_request', 'a comment needs some text besides white space');
  checkIds(p, ctx.now());
  const names = parseCommentMentions(p.text);
  const { post } = await seenPost(ctx, me, p.id);
  const sql = ctx.db.forId(p.id);
  const [caller, existing, named] = await Promise.all([
    new Users(ctx.db).get(me),
    selectComment(sql, p.commentId),
    p.parentId === undefined ? undefined : selectComment(sql, p.parentId),
  ]);
  if (!caller)
    throw new ShutterError('not_found', 'no account has your user id (deleted?); nothing was written');
  if (p.parentId !== undefined && !named) throw new ShutterError('not_found', 'parentId names no comment');
  if (named && named.postId !== p.id)
    throw new ShutterError('bad_request', 'parentId names a comment of another post');
  const rootId = named ? (named.parentId ?? named.id) : null;
  const about = { postAuthorId: post.authorId, parentAuthorId: undefined as string | undefined };

  const wanted = { postId: p.id, authorId: me, text: p.text, parentId: rootId };
  let row: CommentRow;
  if (existing) {
    row = existing;
  } else {
    if (named?.deleted) throw new ShutterError('not_found', 'the comment you reply to was deleted');
    const mentions = await resolveMentions(ctx.db, names);
    const stored = await insertComment(sql, {
      id: p.commentId,
      postId: p.id,
      parentId: rootId,
      authorId: me,
      text: p.text,
      mentions: mentions.map((m) => m.username),
      mentionIds: mentions.map((m) => m.id),
    });
    // A concurrent add of the same id may have won: it is then a retry like any other.
    row = stored.row;
  }
  if (!sameContent(row, wanted))
    throw new ShutterError(
      'conflict',
      'this comment id names a comment with other content; make a new id for a new comment',
    );
  const comment = toComment(row, await hydrateAuthor(ctx, caller));
  if (!row.deleted) {
    if (rootId !== null)
      about.parentAuthorId = named?.parentId ? (await selectComment(sql, rootId))?.authorId : named?.authorId;
    await announceAdded(ctx, row, comment, about);
  }
  return comment;
}

/** The comment id (and a parent id) must carry the post's shard; a comment id may not be from the future. */
function checkIds(p: MethodParams<'comments.add'>, now: number): void {
  const shard = shardOfId(p.id);
  const theirs = shardOfId(p.commentId);
  if (theirs !== shard)
    throw new ShutterError(
      'bad_request',
      `commentId carries logical shard ${theirs}, but a comment id carries its post's shard (${shard}): make it with newId(shardOfId(postId))`,
    );
  if (p.parentId !== undefined && shardOfId(p.parentId) !== shard)
    throw new ShutterError(
      'bad_request',
      'parentId names a comment of another post (it is on another shard)',
    );
  const ahead = (timeOfId(p.commentId) ?? 0) - now;
  if (ahead > MAX_ID_AHEAD_MS)
    throw new ShutterError(
      'bad_request',
      `commentId was made ${Math.round(ahead / 1000)} s in the future (at most ${MAX_ID_AHEAD_MS / 1000} s of clock skew)`,
    );
}

function sameContent(
  row: CommentRow,
  c: Pick<CommentRow, 'postId' | 'authorId' | 'text' | 'parentId'>,
): boolean {
  return (
    row.postId === c.postId &&
    row.authorId === c.authorId &&
    row.text === c.text &&
    row.parentId === c.parentId
  );
}
