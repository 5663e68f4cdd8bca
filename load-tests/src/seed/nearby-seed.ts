import { LOGICAL_SHARDS, newId, shardOfId } from '@shutter/protocol';
import type { Databases } from '@shutter/server/sql';
import { Batches } from './social-seed.js';

/**
 * Seeds the people of the nearby-friends load test straight into the
 * tables: `users` users, each a MUTUAL follower of the `friends` users
 * nearest to it on a ring (i ± 1 … i ± friends/2; both edges, both sides,
 * each row in its owner's database), every one with sharing turned on
 * (`nearby_settings`). Who is where is the scenario's business (each VU
 * moves its own user), so the graph is a pure function of the index:
 * `ringFriends`.
 */
export async function seedNearby(
  db: Databases,
  o: { users: number; friends: number; tag: string },
): Promise<{ ids: string[]; ms: number }> {
  const started = Date.now();
  const now = Date.now();
  const ids = Array.from({ length: o.users }, (_, i) =>
    newId((i * 7919) % LOGICAL_SHARDS, now - o.users + i),
  );
  const users = new Batches(
    'users',
    `INSERT INTO users (id, username, display_name, follower_count, following_count)
     SELECT u, n, n, c, c FROM unnest($1::uuid[], $2::text[], $3::int[]) AS t(u, n, c)`,
    o.users,
    undefined,
  );
  const names = new Batches(
    'usernames',
    'INSERT INTO usernames (name, user_id) SELECT * FROM unnest($1::text[], $2::uuid[])',
    o.users,
    undefined,
  );
  const sharing = new Batches(
    'nearby_settings',
    'INSERT INTO nearby_settings (user_id, sharing, version) SELECT u, true, 1 FROM unnest($1::uuid[]) AS t(u)',
    o.users,
    undefined,
  );
  const edges = new Batches(
    'follows',
    `INSERT INTO follows (user_id, dir, other_id, state, edge_id)
     SELECT u, d, x, 'active', e FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[]) AS t(u, d, x, e)`,
    o.users * o.friends * 2,
    undefined,
  );
  for (let i = 0; i < o.users; i++) {
    const id = ids[i]!;
    const name = `${o.tag}_${i}`;
    await users.add(db.forId(id), [id, name, o.friends]);
    await names.add(db.forKey(name), [name, id]);
    await sharing.add(db.forId(id), [id]);
    for (const j of ringFriends(i, o.users, o.friends)) {
      const other = ids[j]!;
      const edge = newId(shardOfId(id) ?? 0, now);
      await edges.add(db.forId(id), [id, 'out', other, edge]);
      await edges.add(db.forId(id), [id, 'in', other, edge]);
    }
  }
  await users.flush();
  await names.flush();
  await sharing.flush();
  await edges.flush();
  return { ids, ms: Date.now() - started };
}

/** The friends of user `i` of `n`: the `friends` nearest indexes on a ring (mutual by construction). */
export function ringFriends(i: number, n: number, friends: number): number[] {
  const out: number[] = [];
  for (let k = 1; k <= friends / 2; k++) out.push((i + k) % n, (i - k + n) % n);
  return out;
}
