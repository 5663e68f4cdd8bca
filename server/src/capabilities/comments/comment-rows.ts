import type { SqlQueryable } from '../../sql/sql.js';

/** A `comments` row as the capability reads it (the table: `comments-table.ts`). */
export interface CommentRow {
  id: string;
  postId: string;
  /** The top-level comment of a reply; null for a top-level comment. */
  parentId: string | null;
  authorId: string;
  text: string;
  /** Usernames as written (lower-cased), in step with `mentionIds`. */
  mentions: string[];
  mentionIds: string[];
  replyCount: number;
  /** ms since the epoch */
  createdAt: number;
  deleted: boolean;
}

/** What an add writes: everything but what the server fills in. */
export type NewComment = Omit<CommentRow, 'replyCount' | 'createdAt' | 'deleted'>;

export const COMMENT_COLUMNS = `id::text AS id, post_id::text AS post_id, parent_id::text AS parent_id,
  author_id::text AS author_id, text, mentions, mention_ids::text[] AS mention_ids, reply_count,
  created_at, deleted_at`;

export interface RawComment extends Record<string, unknown> {
  id: string;
  post_id: string;
  parent_id: string | null;
  author_id: string;
  text: string;
  mentions: string[];
  mention_ids: string[];
  reply_count: number;
  created_at: Date | string;
  deleted_at: Date | string | null;
}

export function toCommentRow(r: RawComment): CommentRow {
  return {
    id: r.id,
    postId: r.post_id,
    parentId: r.parent_id,
    authorId: r.author_id,
    text: r.text,
    mentions: r.mentions,
    mentionIds: r.mention_ids,
    replyCount: r.reply_count,
    createdAt: new Date(r.created_at).getTime(),
    deleted: r.deleted_at !== null,
  };
}

/** One comment, deleted or not (`lock`: `FOR UPDATE` or `FOR NO KEY UPDATE`, inside a transaction). */
export async function selectComment(
  sql: SqlQueryable,
  id: string,
  lock?: 'FOR UPDATE' | 'FOR NO KEY UPDATE',
): Promise<CommentRow | undefined> {
  const r = await sql.query<RawComment>(
    `SELECT ${COMMENT_COLUMNS} FROM comments WHERE id = $1${lock ? ` ${lock}` : ''}`,
    [id],
  );
  return r.rows[0] ? toCommentRow(r.rows[0]) : undefined;
}

/**
 * A page of a post's live top-level comments older than `before` (newest
 * first), and with them, in the same query, the oldest `preview` live
 * replies of each (oldest first).
 */
export async function selectThreads(
  sql: SqlQueryable,
  postId: string,
  opts: { before: string | undefined; limit: number; preview: number },
): Promise<{ top: CommentRow[]; replies: CommentRow[] }> {
  const r = await sql.query<RawComment>(
    `WITH page AS (
       SELECT ${COMMENT_COLUMNS} FROM comments
        WHERE post_id = $1 AND parent_id IS NULL AND deleted_at IS NULL AND ($2::uuid IS NULL OR id < $2::uuid)
        ORDER BY id DESC LIMIT $3)
     SELECT * FROM (SELECT * FROM page ORDER BY id DESC) t
     UNION ALL
     SELECT r.* FROM page p CROSS JOIN LATERAL (
       SELECT ${COMMENT_COLUMNS} FROM comments
        WHERE parent_id = p.id::uuid AND deleted_at IS NULL ORDER BY id LIMIT $4) r`,
    [postId, opts.before ?? null, opts.limit, opts.preview],
  );
  const rows = r.rows.map(toCommentRow);
  return {
    top: rows.filter((c) => c.parentId === null).sort((a, b) => (a.id < b.id ? 1 : -1)),
    replies: rows.filter((c) => c.parentId !== null).sort((a, b) => (a.id < b.id ? -1 : 1)),
  };
}

/** A top-level comment's live replies after the reply `after` (oldest first). */
export async function selectReplies(
  sql: SqlQueryable,
  parentId: string,
  opts: { after: string | undefined; limit: number },
): Promise<CommentRow[]> {
  const r = await sql.query<RawComment>(
    `SELECT ${COMMENT_COLUMNS} FROM comments
      WHERE parent_id = $1 AND deleted_at IS NULL AND ($2::uuid IS NULL OR id > $2::uuid)
      ORDER BY id LIMIT $3`,
    [parentId, opts.after ?? null, opts.limit],
  );
  return r.rows.map(toCommentRow);
}
