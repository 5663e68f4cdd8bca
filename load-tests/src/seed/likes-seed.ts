import type { Databases, Sql } from '@shutter/server/sql';
import { seededRandom } from '@shutter/server/testing';

/**
 * Seeds likes straight into the tables, on the posts made within the last
 * `days` days, each in its post's database, with exact `like_count`s: what
 * explore's collaborative filter and popular fallback read. Users and posts
 * fall into `communities` (by index and by id) and a user gives
 * `inCommunity` of their likes to their own community's posts, the rest
 * anywhere, each choice skewed toward the newest posts: people who like
 * the same things exist, as they do in a real app.
 */
export interface LikeSeedOptions {
  likesPerUser: number;
  communities: number;
  /** Share of a user's likes within their community (0–1). */
  inCommunity: number;
  days: number;
  seed: number;
}

const BATCH = 5000;

/** The smallest id made at `ms`. */
function minIdAt(ms: number): string {
  const h = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-7000-8000-000000000000`;
}

export async function seedLikes(
  db: Databases,
  userIds: readonly string[],
  o: LikeSeedOptions,
): Promise<{ likes: number; posts: number; ms: number }> {
  const started = Date.now();
  const rand = seededRandom(o.seed);
  const now = Date.now();
  const since = now - o.days * 86_400_000;
  const recent = (
    await Promise.all(
      db.all.map((sql) =>
        sql.query<{ id: string }>(
          'SELECT id::text AS id FROM posts WHERE id >= $1::uuid AND deleted_at IS NULL ORDER BY id DESC',
          [minIdAt(since)],
        ),
      ),
    )
  )
    .flatMap((r) => r.rows.map((x) => x.id))
    .sort()
    .reverse();
  if (recent.length === 0) return { likes: 0, posts: 0, ms: Date.now() - started };
  // A post's community: a stable hash of its id's random tail.
  const byCommunity: string[][] = Array.from({ length: o.communities }, () => []);
  for (const id of recent) byCommunity[Number.parseInt(id.slice(-6), 16) % o.communities]!.push(id);
  const pick = (list: readonly string[]) => list[Math.floor(list.length * rand() ** 2)] as string;

  const rows = new Map<Sql, [string[], string[], Date[]]>();
  let likes = 0;
  const flush = async (sql: Sql) => {
    const r = rows.get(sql);
    if (!r || r[0].length === 0) return;
    rows.set(sql, [[], [], []]);
    await sql.query(
      `INSERT INTO likes (post_id, user_id, created_at)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) ON CONFLICT DO NOTHING`,
      r,
    );
  };
  for (const [i, user] of userIds.entries()) {
    const own = byCommunity[i % o.communities] as string[];
    const chosen = new Set<string>();
    for (let tries = 0; chosen.size < o.likesPerUser && tries < o.likesPerUser * 4; tries++)
      chosen.add(rand() < o.inCommunity && own.length > 0 ? pick(own) : pick(recent));
    for (const postId of chosen) {
      const sql = db.forId(postId);
      let r = rows.get(sql);
      if (!r) rows.set(sql, (r = [[], [], []]));
      r[0].push(postId);
      r[1].push(user);
      r[2].push(new Date(Math.max(since, now - Math.floor(rand() * o.days * 86_400_000))));
      likes++;
      if (r[0].length >= BATCH) await flush(sql);
    }
  }
  for (const sql of [...rows.keys()]) await flush(sql);
  for (const sql of db.all)
    await sql.query(
      `UPDATE posts p SET like_count = c.n
         FROM (SELECT post_id, count(*)::int AS n FROM likes GROUP BY post_id) c
        WHERE p.id = c.post_id`,
    );
  return { likes, posts: recent.length, ms: Date.now() - started };
}
