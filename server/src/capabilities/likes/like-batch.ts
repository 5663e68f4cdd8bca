import type { Sql } from '../../sql/sql.js';

/** One like (`liked: true`) or unlike of a post, as a batch holds it. */
export interface LikeChange {
  postId: string;
  userId: string;
  liked: boolean;
}

/** What one committed batch changed on one post. */
export interface LikeBatchOutcome {
  authorId: string;
  /** Users whose like is new (a like that was there already is not), and when it was stored (ms). */
  liked: { userId: string; at: number }[];
  /** Users whose like was there and is gone. */
  unliked: string[];
  /** The post's count after the commit. */
  likeCount: number;
}

/**
 * Applies one batch of likes and unlikes, of one post or of many in the
 * same database, in ONE statement (one transaction, one round trip):
 *
 * 1. `p` locks the posts' rows, only the live ones, in id order (two
 *    batches locking posts in the same order cannot deadlock): everything
 *    below joins it, so a missing or deleted post changes nothing (a delete
 *    committed while we waited for the lock is seen: the row is re-checked);
 * 2. `ins` adds the likers' rows (`ON CONFLICT DO NOTHING`: a like that is
 *    there already is not returned), `del` removes the unlikers' (only rows
 *    that were there are returned);
 * 3. `upd` moves each post's `like_count` by exactly the rows added minus
 *    the rows removed, so a count equals its rows whatever runs at once
 *    (every other writer of likes rows, the account deletion, moves it the
 *    same way, in the same statement as its rows).
 *
 * A (post, user) pair must appear once (the caller keeps each pair's last
 * request). Answers the outcome of each live post of the batch; a post
 * missing from the answer is missing or deleted.
 */
export async function commitLikeBatch(
  sql: Sql,
  changes: readonly LikeChange[],
): Promise<Map<string, LikeBatchOutcome>> {
  const r = await sql.query<{
    post_id: string;
    author_id: string;
    like_count: number;
    liked: string[];
    liked_at: number | null;
    unliked: string[];
  }>(
    `WITH req AS (
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bool[]) AS r (post_id, user_id, liked)
     ), p AS (
       SELECT id, author_id, like_count FROM posts
        WHERE id IN (SELECT post_id FROM req) AND deleted_at IS NULL
        ORDER BY id FOR UPDATE
     ), ins AS (
       INSERT INTO likes (post_id, user_id, created_at)
       SELECT r.post_id, r.user_id, date_trunc('milliseconds', now()) FROM req r JOIN p ON p.id = r.post_id
        WHERE r.liked
       ON CONFLICT (post_id, user_id) DO NOTHING
       RETURNING post_id, user_id, created_at
     ), del AS (
       DELETE FROM likes USING req r JOIN p ON p.id = r.post_id
        WHERE NOT r.liked AND likes.post_id = r.post_id AND likes.user_id = r.user_id
       RETURNING likes.post_id, likes.user_id
     ), d AS (
       SELECT post_id, sum(n)::int AS n
         FROM (SELECT post_id, 1 AS n FROM ins UNION ALL SELECT post_id, -1 AS n FROM del) AS x
        GROUP BY post_id
     ), upd AS (
       UPDATE posts SET like_count = posts.like_count + d.n FROM d WHERE posts.id = d.post_id AND d.n <> 0
       RETURNING posts.id, posts.like_count
     )
     SELECT p.id::text AS post_id, p.author_id::text AS author_id,
            coalesce(upd.like_count, p.like_count) AS like_count,
            coalesce((SELECT array_agg(user_id::text) FROM ins WHERE ins.post_id = p.id), '{}') AS liked,
            (SELECT (extract(epoch FROM max(created_at)) * 1000)::float8 FROM ins WHERE ins.post_id = p.id)
              AS liked_at,
            coalesce((SELECT array_agg(user_id::text) FROM del WHERE del.post_id = p.id), '{}') AS unliked
       FROM p LEFT JOIN upd ON upd.id = p.id`,
    [changes.map((c) => c.postId), changes.map((c) => c.userId), changes.map((c) => c.liked)],
  );
  const out = new Map<string, LikeBatchOutcome>();
  for (const row of r.rows) {
    const at = Math.round(row.liked_at ?? 0);
    out.set(row.post_id, {
      authorId: row.author_id,
      liked: row.liked.map((userId) => ({ userId, at })),
      unliked: row.unliked,
      likeCount: row.like_count,
    });
  }
  return out;
}
