import type { Migration, Sql } from '../../sql/sql.js';
import type { Databases } from '../../storage/databases.js';

/**
 * The `users` table (one row per account, in the database of the user id's
 * logical shard) and `usernames` (the unique claim of a lower-cased name, in
 * the database of that name's hash: `Databases.forKey`).
 *
 * Counts are kept exact by the writer of each edge or post: the same
 * transaction that inserts a row that did not exist bumps the count.
 */
export const userMigrations: Migration[] = [
  {
    id: 'accounts_001_users',
    sql: `CREATE TABLE users (
      id uuid PRIMARY KEY,
      username text NOT NULL,
      display_name text NOT NULL DEFAULT '',
      bio text NOT NULL DEFAULT '',
      avatar_media_id text,
      private boolean NOT NULL DEFAULT false,
      password_hash text,
      follower_count integer NOT NULL DEFAULT 0,
      following_count integer NOT NULL DEFAULT 0,
      post_count integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    );
    CREATE TABLE usernames (
      name text PRIMARY KEY,
      user_id uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );`,
  },
];

/** A user as the domain reads it. */
export interface UserRow {
  id: string;
  username: string;
  displayName: string;
  bio: string;
  avatarMediaId: string | null;
  private: boolean;
  followerCount: number;
  followingCount: number;
  postCount: number;
  createdAt: number;
  deleted: boolean;
}

const COLUMNS = `id::text AS id, username, display_name, bio, avatar_media_id, private,
  follower_count, following_count, post_count, created_at, deleted_at`;

interface RawUser extends Record<string, unknown> {
  id: string;
  username: string;
  display_name: string;
  bio: string;
  avatar_media_id: string | null;
  private: boolean;
  follower_count: number;
  following_count: number;
  post_count: number;
  created_at: Date;
  deleted_at: Date | null;
}

function toUser(r: RawUser): UserRow {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    bio: r.bio,
    avatarMediaId: r.avatar_media_id,
    private: r.private,
    followerCount: r.follower_count,
    followingCount: r.following_count,
    postCount: r.post_count,
    createdAt: new Date(r.created_at).getTime(),
    deleted: r.deleted_at !== null,
  };
}

/** Reads of `users` across the shards: one query per database, however many ids. */
export class Users {
  constructor(private readonly db: Databases) {}

  /** The live (not deleted) user with this id. */
  async get(id: string): Promise<UserRow | undefined> {
    return (await this.many([id])).get(id);
  }

  /** The live users among `ids`, by id (missing and deleted ones are absent). */
  async many(ids: readonly string[]): Promise<Map<string, UserRow>> {
    const rows = await this.db.each([...new Set(ids)], (sql, part) => selectUsers(sql, part));
    return new Map(rows.map((u) => [u.id, u]));
  }

  /** The user id that holds `username` (any case), if any. */
  async idOf(username: string): Promise<string | undefined> {
    const name = username.toLowerCase();
    const r = await this.db
      .forKey(name)
      .query<{ user_id: string }>('SELECT user_id::text AS user_id FROM usernames WHERE name = $1', [name]);
    return r.rows[0]?.user_id;
  }
}

async function selectUsers(sql: Sql, ids: string[]): Promise<UserRow[]> {
  const r = await sql.query<RawUser>(
    `SELECT ${COLUMNS} FROM users WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`,
    [ids],
  );
  return r.rows.map(toUser);
}
