import { ShutterError } from '@shutter/protocol';
import type { Databases } from '../../storage/databases.js';

/**
 * Username rules and the unique claim of a name.
 *
 * A name is 3–30 characters of `a-z 0-9 . _`, in any case (kept as typed in
 * `users.username`; unique without regard to case: the claim in `usernames`
 * is the lower-cased name), neither starting nor ending with a dot nor
 * holding two in a row (Instagram's rules). Reserved names are refused, and
 * so is any name that reads as one once dots and underscores are dropped
 * (`ad.min`, `_support_`).
 */
const NAME = /^[A-Za-z0-9._]{3,30}$/;

/** Paths, roles and words a user must not be able to take. */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  'about',
  'account',
  'accounts',
  'admin',
  'administrator',
  'api',
  'app',
  'auth',
  'blog',
  'contact',
  'dev',
  'developer',
  'developers',
  'direct',
  'explore',
  'feed',
  'help',
  'home',
  'info',
  'legal',
  'login',
  'logout',
  'mail',
  'me',
  'media',
  'moderator',
  'news',
  'null',
  'official',
  'password',
  'posts',
  'privacy',
  'register',
  'reset',
  'root',
  'search',
  'security',
  'sessions',
  'settings',
  'shutter',
  'signin',
  'signout',
  'signup',
  'staff',
  'static',
  'status',
  'support',
  'system',
  'team',
  'terms',
  'undefined',
  'uploads',
  'user',
  'users',
  'webmaster',
  'www',
]);

/** The claim key of a valid name (lower-cased); throws `username_invalid` or `username_reserved`. */
export function checkUsername(name: string): string {
  if (!NAME.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..'))
    throw new ShutterError(
      'username_invalid',
      'a username is 3–30 characters of a-z 0-9 . _, not starting or ending with a dot, without two dots in a row',
    );
  const key = name.toLowerCase();
  if (RESERVED_USERNAMES.has(key) || RESERVED_USERNAMES.has(key.replace(/[._]/g, '')))
    throw new ShutterError('username_reserved', `the username ${name} is reserved`);
  return key;
}

/**
 * How long a claim whose user row was never written (a crash between the
 * claim and the row) holds its name before a registration may take it over.
 */
export const ORPHAN_CLAIM_GRACE_SECONDS = 60;

/**
 * Claims `key` (lower-cased) for `userId` in the name's database
 * (`forKey`). Registration claims first and writes the user row second, so
 * a crash between leaves a claim with no user: such a claim, once older
 * than the grace time, is taken over (compare-and-set on its old owner).
 * Throws `username_taken` when a live claim holds the name.
 */
export async function claimUsername(db: Databases, key: string, userId: string, attempt = 1): Promise<void> {
  const sql = db.forKey(key);
  const ins = await sql.query(
    'INSERT INTO usernames (name, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [key, userId],
  );
  if (ins.rowCount === 1) return;
  const held = await sql.query<{ user_id: string; stale: boolean }>(
    `SELECT user_id::text AS user_id, created_at < now() - make_interval(secs => $2) AS stale
       FROM usernames WHERE name = $1`,
    [key, ORPHAN_CLAIM_GRACE_SECONDS],
  );
  const claim = held.rows[0];
  if (claim?.stale) {
    const owner = await db.forId(claim.user_id).query('SELECT 1 FROM users WHERE id = $1', [claim.user_id]);
    if (owner.rowCount === 0) {
      const took = await sql.query(
        'UPDATE usernames SET user_id = $3, created_at = now() WHERE name = $1 AND user_id = $2',
        [key, claim.user_id, userId],
      );
      if (took.rowCount === 1) return;
    }
  }
  // A claim deleted between the insert and the read (an account deleted at that moment) is a retry away.
  if (!claim && attempt < 3) return claimUsername(db, key, userId, attempt + 1);
  throw new ShutterError('username_taken', 'that username is taken');
}

/** Frees `key` if `userId` holds it (account deletion). */
export async function releaseUsername(db: Databases, key: string, userId: string): Promise<void> {
  await db.forKey(key).query('DELETE FROM usernames WHERE name = $1 AND user_id = $2', [key, userId]);
}
