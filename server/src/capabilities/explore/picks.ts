import type { Databases } from '../../storage/databases.js';
import { scatter } from '../../storage/scatter.js';
import { minIdAt } from '../trending/index.js';

/**
 * How far the collaborative filter looks: what bounds one computation's
 * reads whatever the numbers of users and likes (at most SEEDS ×
 * CO_LIKERS + NEIGHBOURS × NEIGHBOUR_LIKES rows).
 */
export const CF_LIMITS = {
  /** My likes it starts from: the posts I like, newest post first. */
  seeds: 50,
  /** Per seed post, its newest likers looked at. */
  coLikers: 30,
  /** The people most like me kept (most seeds in common). */
  neighbours: 50,
  /** Per neighbour, their likes looked at (newest posts first, within the window). */
  neighbourLikes: 30,
} as const;

export interface PicksOptions {
  /** How many picks to keep, best first. */
  picks: number;
  /** Only posts with ids made at or after this (ms) are candidates. */
  sinceMs: number;
  /** Time budget of each question to every database. */
  budgetMs: number;
  limits?: typeof CF_LIMITS;
}

/**
 * "Posts liked by people who like what I like", for `me`, in three rounds
 * of reads (each one query per database, in parallel):
 *
 * 1. seeds: the posts I like (the newest `seeds` posts; every database, as a
 *    like lives with its post: `likes_by_user`);
 * 2. neighbours: each seed's newest `coLikers` likers other than me
 *    (`likes_newest`, in the seeds' databases); a liker's similarity is how
 *    many of my seeds they like; the `neighbours` most similar are kept
 *    (ties by id);
 * 3. candidates: each neighbour's likes of posts made since `sinceMs` (the
 *    newest `neighbourLikes` posts each; every database). A candidate's score
 *    is the sum of the similarities of the neighbours who like it; my seeds
 *    are left out.
 *
 * Answers the best `picks` candidates, highest score first, then newest
 * post. Rounds 1 and 3 span users, so they go through `scatter`: a database
 * late past the budget is left out of this computation (fewer picks, never
 * an error). Visibility, blocks and my own posts are checked when explore
 * reads the picks, not here.
 */
export async function computePicks(db: Databases, me: string, o: PicksOptions): Promise<string[]> {
  const L = o.limits ?? CF_LIMITS;
  const budget = { budgetMs: o.budgetMs };
  const seedRows = await scatter(db, budget, async (sql) => {
    const r = await sql.query<{ post_id: string }>(
      'SELECT post_id::text AS post_id FROM likes WHERE user_id = $1 ORDER BY post_id DESC LIMIT $2',
      [me, L.seeds],
    );
    return r.rows.map((x) => x.post_id);
  });
  const seeds = seedRows.rows.sort().reverse().slice(0, L.seeds);
  if (seeds.length === 0) return [];

  const coLikes = await db.each(seeds, async (sql, part) => {
    const r = await sql.query<{ user_id: string }>(
      `SELECT l.user_id::text AS user_id FROM unnest($1::uuid[]) AS s(post_id)
         CROSS JOIN LATERAL (
           SELECT user_id FROM likes WHERE post_id = s.post_id AND user_id <> $2
            ORDER BY created_at DESC, user_id DESC LIMIT $3
         ) l`,
      [part, me, L.coLikers],
    );
    return r.rows.map((x) => x.user_id);
  });
  const similarity = new Map<string, number>();
  for (const u of coLikes) similarity.set(u, (similarity.get(u) ?? 0) + 1);
  const neighbours = [...similarity]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, L.neighbours);
  if (neighbours.length === 0) return [];

  const since = minIdAt(o.sinceMs);
  const likes = await scatter(db, budget, async (sql) => {
    const r = await sql.query<{ user_id: string; post_id: string }>(
      `SELECT n.user_id::text AS user_id, l.post_id::text AS post_id FROM unnest($1::uuid[]) AS n(user_id)
         CROSS JOIN LATERAL (
           SELECT post_id FROM likes WHERE user_id = n.user_id AND post_id >= $2::uuid
            ORDER BY post_id DESC LIMIT $3
         ) l`,
      [neighbours.map(([u]) => u), since, L.neighbourLikes],
    );
    return r.rows;
  });
  const mine = new Set(seeds);
  const sim = new Map(neighbours);
  const score = new Map<string, number>();
  for (const r of likes.rows) {
    if (mine.has(r.post_id)) continue;
    score.set(r.post_id, (score.get(r.post_id) ?? 0) + (sim.get(r.user_id) ?? 0));
  }
  return [...score]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1))
    .slice(0, o.picks)
    .map(([id]) => id);
}
