import type { Databases } from '@shutter/server/sql';

/**
 * The end-of-day checks of `day-in-the-life`, straight from the tables:
 * every stored count equals the rows it counts, and every follow is written
 * on both sides. The seed writes exact counts and the scenario's writes go
 * through the real paths, so any difference is a write that moved one and
 * not the other. Each query reads a whole table once (hundreds of
 * milliseconds at 20 000 users and 200 000 posts).
 */
export interface Consistency {
  /** Posts whose `like_count` is not their rows in `likes`. */
  likeCounts: number;
  /** Posts whose `comment_count` is not their live comments (replies included). */
  commentCounts: number;
  /** Users whose `follower_count` or `following_count` is not their active edges. */
  followCounts: number;
  /** Users whose `post_count` is not their live posts. */
  postCounts: number;
  /** Follow rows without the same edge (state and id) on the other side. */
  oneSidedEdges: number;
  /** Posts created since `since` (the scenario's start). */
  postsSince: number;
}

const COUNT = (n: { n: string } | undefined) => Number(n?.n ?? 0);

export async function checkConsistency(db: Databases, since: Date): Promise<Consistency> {
  const out: Consistency = {
    likeCounts: 0,
    commentCounts: 0,
    followCounts: 0,
    postCounts: 0,
    oneSidedEdges: 0,
    postsSince: 0,
  };
  // The runner's node has one DATABASE_URL (every logical shard in it), so each check is one query.
  const sql = db.home;
  const q = async (text: string, params: unknown[] = []) =>
    COUNT((await sql.query<{ n: string }>(text, params)).rows[0]);
  out.likeCounts = await q(`SELECT count(*) AS n FROM posts p
    LEFT JOIN (SELECT post_id, count(*) AS c FROM likes GROUP BY post_id) l ON l.post_id = p.id
    WHERE p.like_count <> coalesce(l.c, 0)`);
  out.commentCounts = await q(`SELECT count(*) AS n FROM posts p
    LEFT JOIN (SELECT post_id, count(*) AS c FROM comments WHERE deleted_at IS NULL GROUP BY post_id) k
      ON k.post_id = p.id
    WHERE p.deleted_at IS NULL AND p.comment_count <> coalesce(k.c, 0)`);
  out.followCounts = await q(`SELECT count(*) AS n FROM users u
    LEFT JOIN (SELECT user_id,
                      count(*) FILTER (WHERE dir = 'in') AS fin,
                      count(*) FILTER (WHERE dir = 'out') AS fout
               FROM follows WHERE state = 'active' GROUP BY user_id) f ON f.user_id = u.id
    WHERE u.deleted_at IS NULL
      AND (u.follower_count <> coalesce(f.fin, 0) OR u.following_count <> coalesce(f.fout, 0))`);
  out.postCounts = await q(`SELECT count(*) AS n FROM users u
    LEFT JOIN (SELECT author_id, count(*) AS c FROM posts WHERE deleted_at IS NULL GROUP BY author_id) p
      ON p.author_id = u.id
    WHERE u.deleted_at IS NULL AND u.post_count <> coalesce(p.c, 0)`);
  out.oneSidedEdges = await q(`SELECT count(*) AS n FROM follows a WHERE NOT EXISTS (
    SELECT 1 FROM follows b WHERE b.user_id = a.other_id AND b.other_id = a.user_id AND b.dir <> a.dir
      AND b.state = a.state AND b.edge_id = a.edge_id)`);
  out.postsSince = await q('SELECT count(*) AS n FROM posts WHERE created_at >= $1', [since]);
  return out;
}
