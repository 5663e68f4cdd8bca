import type { Databases } from '../../storage/databases.js';

/** A token's holder: one device of one user. */
export interface TokenHolder {
  userId: string;
  deviceId: string;
}

/**
 * Makes (`userId`, `deviceId`) the holder of `token`, in the token's
 * database, and answers the previous holder when it was another (a shared
 * phone, or the same install under a new device id). One transaction: an
 * insert when nobody held it, else the row locked and taken over, so of two
 * concurrent claims the second sees the first as the previous holder.
 */
export async function claimToken(
  db: Databases,
  token: string,
  userId: string,
  deviceId: string,
): Promise<TokenHolder | undefined> {
  return db.forKey(token).transaction(async (tx) => {
    const inserted = await tx.query(
      `INSERT INTO push_tokens (token, user_id, device_id) VALUES ($1, $2, $3)
       ON CONFLICT (token) DO NOTHING RETURNING token`,
      [token, userId, deviceId],
    );
    if (inserted.rowCount > 0) return undefined;
    const prev = await tx.query<{ user_id: string; device_id: string }>(
      'SELECT user_id::text AS user_id, device_id FROM push_tokens WHERE token = $1 FOR UPDATE',
      [token],
    );
    await tx.query(
      'UPDATE push_tokens SET user_id = $2, device_id = $3, updated_at = now() WHERE token = $1',
      [token, userId, deviceId],
    );
    const p = prev.rows[0];
    if (!p || (p.user_id === userId && p.device_id === deviceId)) return undefined;
    return { userId: p.user_id, deviceId: p.device_id };
  });
}

/** Forgets that (`userId`, `deviceId`) holds `token`; a claim someone else took since stays. */
export async function releaseToken(
  db: Databases,
  token: string,
  userId: string,
  deviceId: string,
): Promise<void> {
  await db
    .forKey(token)
    .query('DELETE FROM push_tokens WHERE token = $1 AND user_id = $2 AND device_id = $3', [
      token,
      userId,
      deviceId,
    ]);
}
