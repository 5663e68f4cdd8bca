import type { Databases } from '../../storage/databases.js';
import { type UserRow, Users } from './users.js';

/** A profile as the wire carries it (`PublicProfile` in protocol/src/methods/accounts.ts): the row without its deletion mark. */
export type ProfileView = Omit<UserRow, 'deleted'>;

export function toProfile(u: UserRow): ProfileView {
  const { deleted: _deleted, ...view } = u;
  return view;
}

export interface ProfileChange {
  displayName?: string;
  bio?: string;
  avatarMediaId?: string | null;
  private?: boolean;
}

/**
 * The writes of accounts to `users`, each in the user's database
 * (`forId`). Counts are not written here: their writers (graph, posts) own
 * them.
 */
export class AccountRows extends Users {
  constructor(private readonly dbs: Databases) {
    super(dbs);
  }

  async insert(u: {
    id: string;
    username: string;
    displayName: string;
    passwordHash: string;
  }): Promise<void> {
    await this.dbs
      .forId(u.id)
      .query('INSERT INTO users (id, username, display_name, password_hash) VALUES ($1, $2, $3, $4)', [
        u.id,
        u.username,
        u.displayName,
        u.passwordHash,
      ]);
  }

  /** The password hash and name of `id`, deleted or not (a deletion is retried with the password). */
  async credentials(
    id: string,
  ): Promise<{ username: string; passwordHash: string | null; deleted: boolean } | undefined> {
    const r = await this.dbs
      .forId(id)
      .query<{ username: string; password_hash: string | null; deleted: boolean }>(
        'SELECT username, password_hash, deleted_at IS NOT NULL AS deleted FROM users WHERE id = $1',
        [id],
      );
    const row = r.rows[0];
    return row
      ? { username: row.username, passwordHash: row.password_hash, deleted: row.deleted }
      : undefined;
  }

  /** Applies the given fields to a live user; undefined when there is none. */
  async update(id: string, change: ProfileChange): Promise<UserRow | undefined> {
    const sets: string[] = [];
    const values: unknown[] = [id];
    const put = (column: string, v: unknown) => {
      values.push(v);
      sets.push(`${column} = $${values.length}`);
    };
    if (change.displayName !== undefined) put('display_name', change.displayName);
    if (change.bio !== undefined) put('bio', change.bio);
    if (change.avatarMediaId !== undefined) put('avatar_media_id', change.avatarMediaId);
    if (change.private !== undefined) put('private', change.private);
    if (sets.length > 0)
      await this.dbs
        .forId(id)
        .query(`UPDATE users SET ${sets.join(', ')} WHERE id = $1 AND deleted_at IS NULL`, values);
    return this.get(id);
  }

  /** Replaces the hash if it is still `old` (a login rehashing at the configured cost). */
  async rehash(id: string, old: string, hash: string): Promise<void> {
    await this.dbs
      .forId(id)
      .query('UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2', [id, old, hash]);
  }

  async markDeleted(id: string): Promise<void> {
    await this.dbs
      .forId(id)
      .query('UPDATE users SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL', [id]);
  }

  /** Removes the row itself (the last step of a deletion). */
  async remove(id: string): Promise<void> {
    await this.dbs.forId(id).query('DELETE FROM users WHERE id = $1', [id]);
  }
}
