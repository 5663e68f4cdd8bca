import { ShutterError } from '@shutter/protocol';
import type { Sql, SqlQueryable } from '../../sql/sql.js';
import {
  COMMENT_COLUMNS,
  type CommentRow,
  type NewComment,
  type RawComment,
  selectComment,
  toCommentRow,
} from './comment-rows.js';

/**
 * The comment writes, each ONE transaction in the post's database that
 * moves the counts with the rows they count: `posts.comment_count` (every
 * live comment, replies included) and a top-level comment's `reply_count`.
 * No actor is needed: every row and count of a post's comments is in one
 * database, and SQL increments under row locks are exact.
 *
 * Lock order, the same in every writer (so none can deadlock another): the
 * thread's top-level comment row first, then the reply, then the `posts`
 * row (last, held the shortest). A reply add locks its top-level comment
 * `FOR NO KEY UPDATE`; a delete locks it `FOR UPDATE`, so a top-level
 * delete waits for replies being added and its next statement (a new
 * snapshot) sees and deletes them: a reply can never outlive its parent.
 */

/** A stored comment as a delete reports it. */
export interface GoneComment {
  id: string;
  authorId: string;
  parentId: string | null;
}

/**
 * Inserts the comment unless its id is taken; when new, bumps the post's
 * `comment_count` (and, for a reply, its top-level comment's
 * `reply_count`) in the same transaction. Answers the row as stored (the
 * existing one for a retry: the caller compares contents) and whether this
 * call made it. `not_found` (nothing written) when the post or the
 * top-level comment is gone by the time of the write.
 */
export async function insertComment(sql: Sql, c: NewComment): Promise<{ row: CommentRow; created: boolean }> {
  return sql.transaction(async (tx) => {
    const parent = c.parentId ? await selectComment(tx, c.parentId, 'FOR NO KEY UPDATE') : undefined;
    const ins = await tx.query<RawComment>(
      `INSERT INTO comments (id, post_id, parent_id, author_id, text, mentions, mention_ids)
       VALUES ($1, $2, $3, $4, $5, $6::text[], $7::uuid[]) ON CONFLICT (id) DO NOTHING
       RETURNING ${COMMENT_COLUMNS}`,
      [c.id, c.postId, c.parentId, c.authorId, c.text, c.mentions, c.mentionIds],
    );
    const made = ins.rows[0];
    if (!made) {
      const row = await selectComment(tx, c.id);
      if (!row) throw new Error(`comment ${c.id} neither inserted nor found`);
      return { row, created: false };
    }
    if (c.parentId) {
      if (!parent || parent.deleted || parent.postId !== c.postId || parent.parentId !== null)
        throw new ShutterError('not_found', 'the comment you reply to is gone; nothing was written');
      await tx.query('UPDATE comments SET reply_count = reply_count + 1 WHERE id = $1', [c.parentId]);
    }
    const post = await tx.query(
      'UPDATE posts SET comment_count = comment_count + 1 WHERE id = $1 AND deleted_at IS NULL',
      [c.postId],
    );
    if (post.rowCount !== 1) throw new ShutterError('not_found', 'no post with that id');
    return { row: toCommentRow(made), created: true };
  });
}

/**
 * Marks `comment` deleted if it is live, and with a top-level comment its
 * live replies; lowers the counts by as many in the same transaction.
 * Answers the comments this call deleted (none when it was deleted already).
 */
export async function markCommentDeleted(sql: Sql, comment: CommentRow): Promise<GoneComment[]> {
  return sql.transaction(async (tx) => {
    const rootId = comment.parentId ?? comment.id;
    await tx.query('SELECT 1 FROM comments WHERE id = $1 FOR UPDATE', [rootId]);
    const gone = await tx.query<RawGone>(
      `UPDATE comments SET deleted_at = now()
        WHERE (id = $1 OR ($2::boolean AND parent_id = $1)) AND deleted_at IS NULL
        RETURNING ${GONE_COLUMNS}`,
      [comment.id, comment.parentId === null],
    );
    const rows = gone.rows.map(toGone);
    if (rows.length === 0) return rows;
    if (comment.parentId !== null)
      await tx.query('UPDATE comments SET reply_count = GREATEST(reply_count - 1, 0) WHERE id = $1', [
        rootId,
      ]);
    await lowerCommentCount(tx, comment.postId, rows.length);
    return rows;
  });
}

/**
 * The comments a delete of `id` (already deleted) took with it: itself and
 * the replies marked in the same transaction (the same `deleted_at`). What a
 * retried delete announces again.
 */
export async function deletedWith(sql: SqlQueryable, id: string): Promise<GoneComment[]> {
  const r = await sql.query<RawGone>(
    `SELECT ${GONE_COLUMNS} FROM comments c
      WHERE (c.id = $1 OR c.parent_id = $1)
        AND c.deleted_at = (SELECT deleted_at FROM comments WHERE id = $1)`,
    [id],
  );
  return r.rows.map(toGone).sort((a, b) => (a.parentId === null ? -1 : b.parentId === null ? 1 : 0));
}

/** Lowers a post's `comment_count` by `n` (inside the writer's transaction: the `posts` row is locked last). */
export async function lowerCommentCount(tx: SqlQueryable, postId: string, n: number): Promise<void> {
  await tx.query('UPDATE posts SET comment_count = GREATEST(comment_count - $2, 0) WHERE id = $1', [
    postId,
    n,
  ]);
}

export const GONE_COLUMNS = 'id::text AS id, author_id::text AS author_id, parent_id::text AS parent_id';

export interface RawGone extends Record<string, unknown> {
  id: string;
  author_id: string;
  parent_id: string | null;
}

export function toGone(r: RawGone): GoneComment {
  return { id: r.id, authorId: r.author_id, parentId: r.parent_id };
}
