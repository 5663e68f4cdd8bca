import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { isId, ShutterError } from '@shutter/protocol';
import type { Migration } from '../../sql/sql.js';
import type { Databases } from '../../storage/databases.js';

/**
 * Refresh tokens: `rt1.<user id>.<32 random bytes, base64url>`. The user id
 * names the database (`forId`) without a lookup; the row is keyed by the
 * SHA-256 of the whole token (the token has 256 bits of entropy, so a fast
 * hash is enough), never the token itself. Each login starts a family; each
 * refresh spends its token (`used_at`) and issues the next one in the same
 * family. Presenting a spent token again means it leaked (or a client raced
 * itself): the whole family is revoked. Logout revokes the family too.
 * Expired and revoked rows of a user are pruned at its next login; spent
 * rows of a live family stay until they expire (they are what detects reuse).
 */
export const refreshTokenMigrations: Migration[] = [
  {
    id: 'accounts_002_refresh_tokens',
    sql: `CREATE TABLE refresh_tokens (
      hash text PRIMARY KEY,
      user_id uuid NOT NULL,
      family_id uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      revoked_at timestamptz
    );
    CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
    CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);`,
  },
];

const TOKEN = /^rt1\.([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

export interface IssuedRefresh {
  refreshToken: string;
  refreshTokenExpiresAt: number;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The user a token names; `refresh_token_invalid` for anything that is not one of ours. */
export function refreshTokenUser(token: string): string {
  const m = TOKEN.exec(token);
  if (!m || !isId(m[1]!)) throw invalid('that is not a refresh token');
  return m[1]!;
}

function invalid(message: string): ShutterError {
  return new ShutterError('refresh_token_invalid', message);
}

export class RefreshTokens {
  constructor(
    private readonly db: Databases,
    private readonly ttlSeconds: number,
  ) {}

  /** Starts a session (a new family) for `userId`, pruning its dead tokens. */
  async start(userId: string): Promise<IssuedRefresh> {
    const sql = this.db.forId(userId);
    await sql.query(
      'DELETE FROM refresh_tokens WHERE user_id = $1 AND (expires_at < now() OR revoked_at IS NOT NULL)',
      [userId],
    );
    const { token, expiresAt } = this.make(userId);
    await sql.query(
      `INSERT INTO refresh_tokens (hash, user_id, family_id, expires_at) VALUES ($1, $2, $3, $4)`,
      [digest(token), userId, randomUUID(), new Date(expiresAt)],
    );
    return { refreshToken: token, refreshTokenExpiresAt: expiresAt };
  }

  /**
   * Spends `token` and issues its successor in the same family, in one
   * transaction: of two uses of one token, only the first gets a successor.
   * A spent token presented again revokes its family. Answers the user id.
   */
  async rotate(token: string): Promise<IssuedRefresh & { userId: string }> {
    const userId = refreshTokenUser(token);
    const sql = this.db.forId(userId);
    const hash = digest(token);
    const next = this.make(userId);
    const rotated = await sql.transaction(async (tx) => {
      const spent = await tx.query<{ family_id: string }>(
        `UPDATE refresh_tokens SET used_at = now()
          WHERE hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
          RETURNING family_id::text AS family_id`,
        [hash],
      );
      const family = spent.rows[0]?.family_id;
      if (!family) return false;
      await tx.query(
        `INSERT INTO refresh_tokens (hash, user_id, family_id, expires_at) VALUES ($1, $2, $3, $4)`,
        [digest(next.token), userId, family, new Date(next.expiresAt)],
      );
      return true;
    });
    if (rotated) return { userId, refreshToken: next.token, refreshTokenExpiresAt: next.expiresAt };
    const row = await sql.query<{ family_id: string; reused: boolean }>(
      `SELECT family_id::text AS family_id, used_at IS NOT NULL AND revoked_at IS NULL AS reused
         FROM refresh_tokens WHERE hash = $1`,
      [hash],
    );
    const found = row.rows[0];
    if (found?.reused) {
      await this.revokeFamily(userId, found.family_id);
      throw invalid('that refresh token was already used; the session is revoked');
    }
    throw invalid(found ? 'that session has ended' : 'unknown refresh token');
  }

  /** Revokes the family `token` belongs to; false when it was unknown or already revoked. */
  async revoke(token: string): Promise<boolean> {
    const userId = refreshTokenUser(token);
    const r = await this.db
      .forId(userId)
      .query<{ family_id: string }>(
        'SELECT family_id::text AS family_id FROM refresh_tokens WHERE hash = $1',
        [digest(token)],
      );
    const family = r.rows[0]?.family_id;
    return family ? (await this.revokeFamily(userId, family)) > 0 : false;
  }

  /** Revokes every session of `userId` (account deletion). */
  async revokeAll(userId: string): Promise<void> {
    await this.db
      .forId(userId)
      .query('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [
        userId,
      ]);
  }

  /** Removes every token row of `userId`. */
  async removeAll(userId: string): Promise<void> {
    await this.db.forId(userId).query('DELETE FROM refresh_tokens WHERE user_id = $1', [userId]);
  }

  private async revokeFamily(userId: string, family: string): Promise<number> {
    const r = await this.db
      .forId(userId)
      .query('UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [
        family,
      ]);
    return r.rowCount;
  }

  private make(userId: string): { token: string; expiresAt: number } {
    return {
      token: `rt1.${userId}.${randomBytes(32).toString('base64url')}`,
      expiresAt: Date.now() + this.ttlSeconds * 1000,
    };
  }
}
