import { newId, randomShard } from '@shutter/protocol';
import type { Databases } from '@shutter/server/sql';

/** A follow graph every VU can work out from its index: who each watcher follows. */
export interface FollowRing {
  watcherIds: string[];
  changerIds: string[];
  /** Each watcher follows this many changers. */
  follows: number;
}

/** The changers (indexes) watcher `j` follows: `follows` in a row from `j * follows`, wrapping round. */
export function followedBy(j: number, follows: number, changers: number): number[] {
  return Array.from({ length: follows }, (_, t) => (j * follows + t) % changers);
}

/**
 * Seeds `watchers` users who each follow `follows` of `changers` users
 * (`followedBy`: every changer gets about the same number of followers),
 * straight into the tables: user rows with exact counts, and both sides of
 * each follow, each in its owner's database. Batched `unnest` inserts.
 */
export async function seedFollowRing(
  db: Databases,
  o: { watchers: number; changers: number; follows: number; tag: string },
): Promise<FollowRing> {
  if (o.follows > o.changers) throw new Error('a watcher cannot follow more changers than there are');
  const watcherIds = Array.from({ length: o.watchers }, () => newId(randomShard()));
  const changerIds = Array.from({ length: o.changers }, () => newId(randomShard()));
  const followers = new Array<number>(o.changers).fill(0);
  const rows: [string, string, string, string][] = [];
  for (let j = 0; j < o.watchers; j++) {
    for (const c of followedBy(j, o.follows, o.changers)) {
      followers[c]!++;
      const edge = newId(0);
      rows.push([watcherIds[j]!, 'out', changerIds[c]!, edge], [changerIds[c]!, 'in', watcherIds[j]!, edge]);
    }
  }
  const users = [
    ...watcherIds.map((id, j) => ({ id, name: `${o.tag}_w${j}`, followers: 0, following: o.follows })),
    ...changerIds.map((id, c) => ({ id, name: `${o.tag}_c${c}`, followers: followers[c]!, following: 0 })),
  ];
  for (const [sql, ids] of db.group(users.map((u) => u.id))) {
    const here = new Set(ids);
    const mine = users.filter((u) => here.has(u.id));
    for (let i = 0; i < mine.length; i += 5000) {
      const part = mine.slice(i, i + 5000);
      await sql.query(
        `INSERT INTO users (id, username, follower_count, following_count)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::int[])`,
        [
          part.map((u) => u.id),
          part.map((u) => u.name),
          part.map((u) => u.followers),
          part.map((u) => u.following),
        ],
      );
    }
  }
  for (const [sql, owners] of db.group(rows.map((r) => r[0]))) {
    const here = new Set(owners);
    const mine = rows.filter((r) => here.has(r[0]));
    for (let i = 0; i < mine.length; i += 5000) {
      const part = mine.slice(i, i + 5000);
      await sql.query(
        `INSERT INTO follows (user_id, dir, other_id, state, edge_id)
         SELECT u, d, x, 'active', e FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[]) AS t(u, d, x, e)`,
        [part.map((r) => r[0]), part.map((r) => r[1]), part.map((r) => r[2]), part.map((r) => r[3])],
      );
    }
  }
  return { watcherIds, changerIds, follows: o.follows };
}
