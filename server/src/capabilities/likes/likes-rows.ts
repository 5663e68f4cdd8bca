import type { Sql } from '../../sql/sql.js';
import type { Databases } from '../../storage/databases.js';

/**
 * Reads of the `likes` table (`likes-table.ts`), and the account deletion's
 * removal. Writes of likes go through the post actor (`like-commits.ts`),
 * except {@link removeUsersLikes}, which moves the counts the same way.
 */

/**
 * Which of `postIds` `viewerId` likes: one query per database holding some
 * of the posts (a like lives in its post's database), whatever their
 * number. What hydration fills `likedByMe` with.
 */
export async function likedAmong(
  db: Databases,
  viewerId: string,
  postIds: readonly string[],
): Promise<Set<string>> {
  if (postIds.length === 0) return new Set();
  const ids = await db.each([...new Set(postIds)], async (sql, part) => {
    const r = await sql.query<{ post_id: string }>(
      'SELECT post_id::text AS post_id FROM likes WHERE user_id = $1 AND post_id = ANY($2::uuid[])',
      [viewerId, part],
    );
    return r.rows.map((x) => x.post_id);
  });
  return new Set(ids);
}

/** One like as a list reads it: who, and when (ms since the epoch). */
export interface LikeEntry {
  userId: string;
  at: number;
}

/** Where a list page starts: strictly after this like, in (time, user) descending order. */
export interface LikePosition {
  at: number;
  userId: string;
}

/**
 * Up to `limit` likes of the post, newest first (ties by user id,
 * descending), after `after` when given: of the users among `among`
 * (`mode: 'among'`), or of everyone else (`'except'`). One query in the
 * post's database, on the `likes_newest` index.
 */
export async function likesPage(
  sql: Sql,
  postId: string,
  opts: { mode: 'among' | 'except'; users: readonly string[]; after?: LikePosition; limit: number },
): Promise<LikeEntry[]> {
  if (opts.mode === 'among' && opts.users.length === 0) return [];
  const filter = opts.mode === 'among' ? 'user_id = ANY($2::uuid[])' : 'NOT (user_id = ANY($2::uuid[]))';
  const r = await sql.query<{ user_id: string; at: string }>(
    `SELECT user_id::text AS user_id, (extract(epoch FROM created_at) * 1000)::bigint::text AS at FROM likes
      WHERE post_id = $1 AND ${filter}
        AND ($3::bigint IS NULL
             OR (created_at, user_id) < ('epoch'::timestamptz + $3::bigint * interval '1 millisecond', $4::uuid))
      ORDER BY created_at DESC, user_id DESC LIMIT $5`,
    [postId, opts.users, opts.after?.at ?? null, opts.after?.userId ?? null, opts.limit],
  );
  return r.rows.map((x) => ({ userId: x.user_id, at: Number(x.at) }));
}

/** A post whose count an account deletion lowered, and its count after. */
export interface UnlikedPost {
  postId: string;
  authorId: string;
  likeCount: number;
}

/**
 * Removes up to `limit` likes of `userId` from one database and lowers each
 * post's `like_count` in the same statement (a user likes a post at most
 * once, so by one), whether the post is live or not. Answers how many rows
 * went (fewer than `limit`: none is left there) and the posts touched.
 */
export async function removeUsersLikes(
  sql: Sql,
  userId: string,
  limit: number,
): Promise<{ removed: number; posts: UnlikedPost[] }> {
  const r = await sql.query<{ removed: number; ids: string[]; authors: string[]; counts: number[] }>(
    `WITH del AS (
       DELETE FROM likes WHERE user_id = $1
          AND post_id IN (SELECT post_id FROM likes WHERE user_id = $1 ORDER BY post_id LIMIT $2)
       RETURNING post_id
     ), upd AS (
       UPDATE posts SET like_count = posts.like_count - 1 FROM del WHERE posts.id = del.post_id
       RETURNING posts.id, posts.author_id, posts.like_count
     )
     SELECT (SELECT count(*) FROM del)::int AS removed,
            coalesce((SELECT array_agg(id::text ORDER BY id) FROM upd), '{}') AS ids,
            coalesce((SELECT array_agg(author_id::text ORDER BY id) FROM upd), '{}') AS authors,
            coalesce((SELECT array_agg(like_count ORDER BY id) FROM upd), '{}') AS counts`,
    [userId, limit],
  );
  const row = r.rows[0];
  if (!row) return { removed: 0, posts: [] };
  return {
    removed: row.removed,
    posts: row.ids.map((postId, i) => ({
      postId,
      authorId: row.authors[i] as string,
      likeCount: row.counts[i] as number,
    })),
  };
}
