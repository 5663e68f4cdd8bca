import type { DeviceView } from '@shutter/protocol';
import type { Sql } from '../../sql/sql.js';
import type { Databases } from '../../storage/databases.js';
import { releaseToken } from './token-claims.js';

/** What a device registers. */
export interface DeviceInput {
  deviceId: string;
  platform: 'apns' | 'fcm';
  token: string;
  appId: string | null;
  locale: string | null;
}

interface DeviceRow extends Record<string, unknown> {
  device_id: string;
  platform: 'apns' | 'fcm';
  token: string;
  app_id: string | null;
  locale: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'device_id, platform, token, app_id, locale, created_at, updated_at';

function view(r: DeviceRow): DeviceView {
  return {
    id: r.device_id,
    platform: r.platform,
    token: r.token,
    appId: r.app_id,
    locale: r.locale,
    createdAt: new Date(r.created_at).getTime(),
    updatedAt: new Date(r.updated_at).getTime(),
  };
}

/** The user's devices, most recently refreshed first. */
export async function listDevices(sql: Sql, userId: string): Promise<DeviceView[]> {
  const r = await sql.query<DeviceRow>(
    `SELECT ${COLUMNS} FROM devices WHERE user_id = $1 ORDER BY updated_at DESC, device_id`,
    [userId],
  );
  return r.rows.map(view);
}

/** A token that left the user's devices in an upsert: the device's previous token, or an evicted device's. */
export interface LeftToken {
  deviceId: string;
  token: string;
}

/**
 * Registers or refreshes a device, in one transaction in the user's
 * database, keeping the user's `maxDevices` most recently refreshed: the
 * others are removed with their pending pushes. Answers the device and the
 * tokens that left (for their claims to be released).
 */
export async function upsertDevice(
  sql: Sql,
  userId: string,
  d: DeviceInput,
  maxDevices: number,
): Promise<{ device: DeviceView; left: LeftToken[] }> {
  return sql.transaction(async (tx) => {
    const before = await tx.query<{ token: string }>(
      'SELECT token FROM devices WHERE user_id = $1 AND device_id = $2 FOR UPDATE',
      [userId, d.deviceId],
    );
    const r = await tx.query<DeviceRow>(
      `INSERT INTO devices (user_id, device_id, platform, token, app_id, locale) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (user_id, device_id) DO UPDATE SET platform = EXCLUDED.platform, token = EXCLUDED.token,
         app_id = EXCLUDED.app_id, locale = EXCLUDED.locale, updated_at = now()
       RETURNING ${COLUMNS}`,
      [userId, d.deviceId, d.platform, d.token, d.appId, d.locale],
    );
    const evicted = await tx.query<{ device_id: string; token: string }>(
      `DELETE FROM devices WHERE user_id = $1 AND device_id IN (
         SELECT device_id FROM devices WHERE user_id = $1 AND device_id <> $2
         ORDER BY updated_at DESC, device_id OFFSET $3)
       RETURNING device_id, token`,
      [userId, d.deviceId, maxDevices - 1],
    );
    const gone = evicted.rows.map((e) => e.device_id);
    if (gone.length > 0)
      await tx.query(
        `DELETE FROM push_outbox WHERE user_id = $1 AND device_id = ANY($2::text[]) AND state = 'pending'`,
        [userId, gone],
      );
    const left: LeftToken[] = evicted.rows.map((e) => ({ deviceId: e.device_id, token: e.token }));
    const old = before.rows[0]?.token;
    if (old !== undefined && old !== d.token) left.push({ deviceId: d.deviceId, token: old });
    return { device: view(r.rows[0] as DeviceRow), left };
  });
}

/**
 * Removes a device of the user with its pending pushes; with `onlyToken`,
 * only while the device still has that token (a token the provider said is
 * gone must not remove the fresh one the app registered since). Answers the
 * removed device's token, or undefined when nothing was removed.
 */
export async function removeDevice(
  sql: Sql,
  userId: string,
  deviceId: string,
  onlyToken?: string,
): Promise<string | undefined> {
  return sql.transaction(async (tx) => {
    const r = await tx.query<{ token: string }>(
      `DELETE FROM devices WHERE user_id = $1 AND device_id = $2 AND ($3::text IS NULL OR token = $3)
       RETURNING token`,
      [userId, deviceId, onlyToken ?? null],
    );
    const token = r.rows[0]?.token;
    if (token !== undefined)
      await tx.query(`DELETE FROM push_outbox WHERE user_id = $1 AND device_id = $2 AND state = 'pending'`, [
        userId,
        deviceId,
      ]);
    return token;
  });
}

/**
 * Forgets a device whose token the provider said is gone (or that lost its
 * token to another holder): the device, its pending pushes, and its claim
 * on the token. A no-op when the device has another token by now.
 */
export async function forgetDevice(
  db: Databases,
  userId: string,
  deviceId: string,
  token: string,
): Promise<boolean> {
  const removed = await removeDevice(db.forId(userId), userId, deviceId, token);
  if (removed === undefined) return false;
  await releaseToken(db, token, userId, deviceId);
  return true;
}
