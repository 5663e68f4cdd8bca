import { newId, randomShard } from '@shutter/protocol';
import type { Databases } from '@shutter/server/sql';

/** One author followed by `followers` users, and one ready photo of the author's. */
export interface Star {
  authorId: string;
  followerIds: string[];
  mediaId: string;
}

/**
 * Seeds a star: an author and `followers` users who all follow it (both
 * sides of each edge, each in its owner's database, counts exact), and a
 * ready media item of the author's to post. Straight into the tables: a
 * load test wants 10 000 followers in seconds, not 10 000 registrations.
 */
export async function seedStar(db: Databases, followers: number, tag: string): Promise<Star> {
  const authorId = newId(randomShard());
  const followerIds = Array.from({ length: followers }, () => newId(randomShard()));
  const users = [authorId, ...followerIds];
  const names = users.map((_, i) => `${tag}_${i}`);
  const nameOf = new Map(users.map((id, i) => [id, names[i]]));
  for (const [sql, ids] of db.group(users)) {
    await sql.query(
      `INSERT INTO users (id, username, follower_count, following_count)
       SELECT u, n, CASE WHEN u = $3::uuid THEN $4::int ELSE 0 END, CASE WHEN u = $3::uuid THEN 0 ELSE 1 END
       FROM unnest($1::uuid[], $2::text[]) AS t(u, n)`,
      [ids, ids.map((id) => nameOf.get(id)), authorId, followers],
    );
  }
  const claims = new Map<ReturnType<Databases['forKey']>, [string[], string[]]>();
  users.forEach((id, i) => {
    const sql = db.forKey(names[i]!);
    const c = claims.get(sql) ?? [[], []];
    c[0].push(names[i]!);
    c[1].push(id);
    claims.set(sql, c);
  });
  for (const [sql, [n, ids]] of claims)
    await sql.query('INSERT INTO usernames (name, user_id) SELECT * FROM unnest($1::text[], $2::uuid[])', [
      n,
      ids,
    ]);
  const edges = followerIds.map((f) => ({ f, edge: newId(0) }));
  await db.forId(authorId).query(
    `INSERT INTO follows (user_id, dir, other_id, state, edge_id)
     SELECT $1, 'in', f, 'active', e FROM unnest($2::uuid[], $3::uuid[]) AS t(f, e)`,
    [authorId, edges.map((e) => e.f), edges.map((e) => e.edge)],
  );
  for (const [sql, ids] of db.group(followerIds)) {
    const here = new Set(ids);
    const mine = edges.filter((e) => here.has(e.f));
    await sql.query(
      `INSERT INTO follows (user_id, dir, other_id, state, edge_id)
       SELECT f, 'out', $1, 'active', e FROM unnest($2::uuid[], $3::uuid[]) AS t(f, e)`,
      [authorId, mine.map((e) => e.f), mine.map((e) => e.edge)],
    );
  }
  // Statistics, as autovacuum would gather them soon after: without them Postgres looked an
  // edge up by scanning the star's 7 000 followers in follows_list instead of the primary key
  // (2.6 ms and 7 000 buffers a check; a like storm's Postgres spent most of its time there).
  for (const sql of db.all) await sql.query('ANALYZE users, follows');
  const mediaId = `star-${authorId}`;
  await db.home.query(
    `INSERT INTO media_items (id, owner_id, status, original_key, original_bytes, declared_type, format, width, height, variants, ready_at)
     VALUES ($1, $2, 'ready', 'originals/star', 1, 'image/jpeg', 'jpeg', 1080, 1080, '[]', now())`,
    [mediaId, authorId],
  );
  return { authorId, followerIds, mediaId };
}
