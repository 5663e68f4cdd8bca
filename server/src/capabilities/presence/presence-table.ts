import type { Migration, Sql } from '../../sql/sql.js';
import type { Databases } from '../../storage/databases.js';

/**
 * `presence_users`, in each user's database (`db.forId(user)`): whether the
 * user shows their presence (`visible`, the durable setting) and when they
 * were last seen (`last_seen`, ms since the Unix epoch: their last socket
 * closed), written when the store settles them offline. A user without a
 * row is visible and never seen. While hidden, `last_seen` is not moved:
 * showing again never reveals when they were around meanwhile.
 */
export const presenceMigrations: Migration[] = [
  {
    id: 'presence_001_users',
    sql: `CREATE TABLE presence_users (
      user_id uuid PRIMARY KEY,
      visible boolean NOT NULL DEFAULT true,
      last_seen bigint
    );`,
  },
];

/** A user's stored presence facts. */
export interface PresenceRow {
  visible: boolean;
  lastSeen: number | null;
}

type Row = { user_id: string; visible: boolean; last_seen: string | null };
const toRow = (r: Row): PresenceRow => ({
  visible: r.visible,
  lastSeen: r.last_seen === null ? null : Number(r.last_seen),
});

/** The rows of `userIds` (one query per database); users without one are absent (visible, never seen). */
export async function readPresenceRows(
  db: Databases,
  userIds: readonly string[],
): Promise<Map<string, PresenceRow>> {
  const rows = await db.each(userIds, async (sql, ids) => {
    const r = await sql.query<Row>(
      'SELECT user_id::text AS user_id, visible, last_seen::text AS last_seen FROM presence_users WHERE user_id = ANY($1::uuid[])',
      [ids],
    );
    return r.rows;
  });
  return new Map(rows.map((r) => [r.user_id, toRow(r)]));
}

/**
 * Records that these users were last seen at these times (one query per
 * database, each user once), unless hidden; answers which of them are
 * hidden.
 */
export async function recordLastSeen(db: Databases, seen: ReadonlyMap<string, number>): Promise<Set<string>> {
  const hidden = await db.each([...seen.keys()], async (sql: Sql, ids) => {
    const r = await sql.query<{ user_id: string; visible: boolean }>(
      `INSERT INTO presence_users AS p (user_id, last_seen)
         SELECT * FROM unnest($1::uuid[], $2::bigint[])
       ON CONFLICT (user_id) DO UPDATE SET last_seen =
         CASE WHEN p.visible THEN GREATEST(p.last_seen, EXCLUDED.last_seen) ELSE p.last_seen END
       RETURNING user_id::text AS user_id, visible`,
      [ids, ids.map((id) => Math.floor(seen.get(id)!))],
    );
    return r.rows.filter((x) => !x.visible).map((x) => x.user_id);
  });
  return new Set(hidden);
}

/** Which of `userIds` are hidden (one query per database). */
export async function hiddenAmong(db: Databases, userIds: readonly string[]): Promise<Set<string>> {
  const hidden = await db.each(userIds, async (sql, ids) => {
    const r = await sql.query<{ user_id: string }>(
      'SELECT user_id::text AS user_id FROM presence_users WHERE user_id = ANY($1::uuid[]) AND NOT visible',
      [ids],
    );
    return r.rows.map((x) => x.user_id);
  });
  return new Set(hidden);
}

/** Sets the user's visibility; answers the row after it and whether it changed. */
export async function setVisible(
  db: Databases,
  userId: string,
  visible: boolean,
): Promise<PresenceRow & { changed: boolean }> {
  const r = await db.forId(userId).query<Row & { was: boolean | null }>(
    `WITH old AS (SELECT visible FROM presence_users WHERE user_id = $1)
     INSERT INTO presence_users (user_id, visible) VALUES ($1, $2)
     ON CONFLICT (user_id) DO UPDATE SET visible = EXCLUDED.visible
     RETURNING user_id::text AS user_id, visible, last_seen::text AS last_seen, (SELECT visible FROM old) AS was`,
    [userId, visible],
  );
  const row = r.rows[0]!;
  return { ...toRow(row), changed: (row.was ?? true) !== visible };
}

/** Whether the user shows their presence. */
export async function isVisible(db: Databases, userId: string): Promise<boolean> {
  const r = await db
    .forId(userId)
    .query<{ visible: boolean }>('SELECT visible FROM presence_users WHERE user_id = $1', [userId]);
  return r.rows[0]?.visible ?? true;
}

/** Forgets a deleted account's presence. */
export async function deletePresenceRow(db: Databases, userId: string): Promise<void> {
  await db.forId(userId).query('DELETE FROM presence_users WHERE user_id = $1', [userId]);
}
