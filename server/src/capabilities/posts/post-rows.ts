import type { Sql, SqlQueryable } from '../../sql/sql.js';
import type { Databases } from '../../storage/databases.js';

/** A `posts` row as the capability reads it (the table: `posts-table.ts`). */
export interface PostRow {
  id: string;
  authorId: string;
  caption: string;
  /** In carousel order. */
  mediaIds: string[];
  hashtags: string[];
  mentions: string[];
  location: { lat: number; lon: number; name?: string } | null;
  likeCount: number;
  commentCount: number;
  /** ms since the epoch */
  createdAt: number;
  deleted: boolean;
}

/** What a create writes: everything but what the server fills in. */
export interface NewPost {
  id: string;
  authorId: string;
  caption: string;
  mediaIds: string[];
  hashtags: string[];
  mentions: string[];
  location: { lat: number; lon: number; name?: string } | null;
}

const COLUMNS = `id::text AS id, author_id::text AS author_id, caption, media_ids, hashtags, mentions,
  lat, lon, place_name, like_count, comment_count, created_at, deleted_at`;

interface RawPost extends Record<string, unknown> {
  id: string;
  author_id: string;
  caption: string;
  media_ids: string[];
  hashtags: string[];
  mentions: string[];
  lat: number | null;
  lon: number | null;
  place_name: string | null;
  like_count: number;
  comment_count: number;
  created_at: Date | string;
  deleted_at: Date | string | null;
}

function toRow(r: RawPost): PostRow {
  const location =
    r.lat === null || r.lon === null
      ? null
      : { lat: r.lat, lon: r.lon, ...(r.place_name !== null ? { name: r.place_name } : {}) };
  return {
    id: r.id,
    authorId: r.author_id,
    caption: r.caption,
    mediaIds: r.media_ids,
    hashtags: r.hashtags,
    mentions: r.mentions,
    location,
    likeCount: r.like_count,
    commentCount: r.comment_count,
    createdAt: new Date(r.created_at).getTime(),
    deleted: r.deleted_at !== null,
  };
}

/** The rows among `ids` (deleted ones included), one query per database, in no particular order. */
export function selectPosts(db: Databases, ids: readonly string[]): Promise<PostRow[]> {
  return db.each([...new Set(ids)], async (sql, part) => {
    const r = await sql.query<RawPost>(`SELECT ${COLUMNS} FROM posts WHERE id = ANY($1::uuid[])`, [part]);
    return r.rows.map(toRow);
  });
}

/** One row, deleted or not, from its author's database. */
export async function selectPost(db: Databases, id: string): Promise<PostRow | undefined> {
  return (await selectPosts(db, [id]))[0];
}

/** The live posts of `authorId` older than the post `before` (exclusive), newest first. */
export async function selectByAuthor(
  sql: Sql,
  authorId: string,
  opts: { before: string | undefined; limit: number },
): Promise<PostRow[]> {
  const r = await sql.query<RawPost>(
    `SELECT ${COLUMNS} FROM posts
      WHERE author_id = $1 AND deleted_at IS NULL AND ($2::uuid IS NULL OR id < $2::uuid)
      ORDER BY id DESC LIMIT $3`,
    [authorId, opts.before ?? null, opts.limit],
  );
  return r.rows.map(toRow);
}

/**
 * Inserts the post unless its id is taken, and bumps its author's
 * `post_count` in the same transaction when the row is new. Answers the row
 * as stored (the existing one on a retry) and whether this call made it;
 * `no_author` (nothing written) when the author has no live `users` row.
 * The author's row is locked first, as every writer of the user's counts
 * does (graph side writes too), so the count moves in one order.
 */
export async function insertPost(
  sql: Sql,
  p: NewPost,
): Promise<{ row: PostRow; created: boolean } | 'no_author'> {
  return sql.transaction(async (tx) => {
    const author = await tx.query('SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE', [
      p.authorId,
    ]);
    if (author.rows.length === 0) return 'no_author' as const;
    const ins = await tx.query(
      `INSERT INTO posts (id, author_id, caption, media_ids, hashtags, mentions, lat, lon, place_name)
       VALUES ($1, $2, $3, $4::text[], $5::text[], $6::text[], $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
      [
        p.id,
        p.authorId,
        p.caption,
        p.mediaIds,
        p.hashtags,
        p.mentions,
        p.location?.lat ?? null,
        p.location?.lon ?? null,
        p.location?.name ?? null,
      ],
    );
    const created = ins.rowCount === 1;
    if (created) await tx.query('UPDATE users SET post_count = post_count + 1 WHERE id = $1', [p.authorId]);
    const row = await selectOne(tx, p.id);
    if (!row) throw new Error(`post ${p.id} neither inserted nor found`);
    return { row, created };
  });
}

/**
 * Marks the post deleted if it is live and `by` is its author, lowering the
 * author's `post_count` in the same transaction; a deleted post stays as it
 * is (idempotent). Answers the row as it is now, or why nothing was done.
 */
export async function markDeleted(
  sql: Sql,
  id: string,
  by: string,
): Promise<PostRow | 'missing' | 'not_author'> {
  return sql.transaction(async (tx) => {
    const row = await selectOne(tx, id, true);
    if (!row) return 'missing';
    if (row.authorId !== by) return 'not_author';
    if (row.deleted) return row;
    await tx.query('UPDATE posts SET deleted_at = now() WHERE id = $1', [id]);
    await tx.query('UPDATE users SET post_count = GREATEST(post_count - 1, 0) WHERE id = $1', [row.authorId]);
    return { ...row, deleted: true };
  });
}

/**
 * Marks up to `limit` live posts of `authorId` deleted and lowers the
 * author's count by as many, in one transaction; answers their ids (none
 * left when fewer than `limit`).
 */
export async function markAuthorsPostsDeleted(sql: Sql, authorId: string, limit: number): Promise<string[]> {
  return sql.transaction(async (tx) => {
    const r = await tx.query<{ id: string }>(
      `UPDATE posts SET deleted_at = now()
        WHERE id IN (SELECT id FROM posts WHERE author_id = $1 AND deleted_at IS NULL ORDER BY id LIMIT $2)
        RETURNING id::text AS id`,
      [authorId, limit],
    );
    if (r.rows.length > 0)
      await tx.query('UPDATE users SET post_count = GREATEST(post_count - $2, 0) WHERE id = $1', [
        authorId,
        r.rows.length,
      ]);
    return r.rows.map((x) => x.id);
  });
}

async function selectOne(tx: SqlQueryable, id: string, forUpdate = false): Promise<PostRow | undefined> {
  const r = await tx.query<RawPost>(
    `SELECT ${COLUMNS} FROM posts WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return r.rows[0] ? toRow(r.rows[0]) : undefined;
}

/**
 * The columns `toPostRow` reads (unqualified: select them from `posts` alone),
 * for another capability's query that answers post rows (search, places).
 */
export const POST_COLUMNS = COLUMNS;
export { type RawPost, toRow as toPostRow };
