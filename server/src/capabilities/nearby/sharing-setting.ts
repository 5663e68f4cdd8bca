import type { Migration } from '../../sql/sql.js';
import type { Databases } from '../../storage/databases.js';
import type { Sharing } from './location-store.js';

/**
 * The durable setting: `nearby_settings`, one row per user who ever chose,
 * in the user's database. `version` counts the changes (the location
 * store's copy is fenced by it). No row: sharing is off.
 */
export const nearbyMigrations: Migration[] = [
  {
    id: 'nearby_001_settings',
    sql: `CREATE TABLE nearby_settings (
      user_id uuid PRIMARY KEY,
      sharing boolean NOT NULL,
      version bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );`,
  },
];

export interface SharingSetting extends Sharing {
  /** ms since the epoch; null when never set. */
  updatedAt: number | null;
}

interface Row extends Record<string, unknown> {
  sharing: boolean;
  version: string;
  updated_at: Date;
}

const toSetting = (r: Row | undefined): SharingSetting =>
  r
    ? { on: r.sharing, version: Number(r.version), updatedAt: new Date(r.updated_at).getTime() }
    : { on: false, version: 0, updatedAt: null };

/** The user's setting (off, version 0, when never set). */
export async function readSharing(db: Databases, userId: string): Promise<SharingSetting> {
  const r = await db
    .forId(userId)
    .query<Row>('SELECT sharing, version, updated_at FROM nearby_settings WHERE user_id = $1', [userId]);
  return toSetting(r.rows[0]);
}

/** Sets it, counting the change (setting the same value again counts too: harmless). */
export async function writeSharing(db: Databases, userId: string, on: boolean): Promise<SharingSetting> {
  const r = await db.forId(userId).query<Row>(
    `INSERT INTO nearby_settings (user_id, sharing, version) VALUES ($1, $2, 1)
     ON CONFLICT (user_id) DO UPDATE
       SET sharing = EXCLUDED.sharing, version = nearby_settings.version + 1, updated_at = now()
     RETURNING sharing, version, updated_at`,
    [userId, on],
  );
  return toSetting(r.rows[0]);
}

export async function deleteSharing(db: Databases, userId: string): Promise<void> {
  await db.forId(userId).query('DELETE FROM nearby_settings WHERE user_id = $1', [userId]);
}
