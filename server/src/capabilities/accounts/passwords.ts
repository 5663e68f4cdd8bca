import { type Algorithm, hash, verify } from '@node-rs/argon2';
import { ShutterError } from '@shutter/protocol';
import { COMMON_PASSWORDS } from './common-passwords.js';

/** argon2id cost of new hashes (AUTH_ARGON2_*); a stored hash carries its own and verifies under any. */
export interface PasswordCost {
  memoryKib: number;
  timeCost: number;
}

/**
 * Refuses a password that is too short or long (8–128 characters, counted
 * as code points), one of the most common, or the username itself:
 * `password_too_weak`.
 */
export function checkPassword(password: string, username: string): void {
  const length = [...password].length;
  if (length < 8 || length > 128)
    throw new ShutterError('password_too_weak', 'a password is 8–128 characters');
  const lower = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lower) || lower === username.toLowerCase())
    throw new ShutterError('password_too_weak', 'that password is too common; choose another');
}

/**
 * argon2id through `@node-rs/argon2`: its async calls run on libuv's
 * thread pool, never on the event loop (and never in an actor turn).
 */
export async function hashPassword(password: string, cost: PasswordCost): Promise<string> {
  return hash(password, {
    // `Algorithm.Argon2id`: a const enum, which this build's isolated modules cannot read.
    algorithm: 2 as Algorithm,
    memoryCost: cost.memoryKib,
    timeCost: cost.timeCost,
    parallelism: 1,
  });
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    // A malformed stored hash never matches.
    return false;
  }
}

/** Whether `stored` was hashed with another algorithm or cost than `cost` (rehash it at the next login). */
export function needsRehash(stored: string, cost: PasswordCost): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
  return !m || Number(m[1]) !== cost.memoryKib || Number(m[2]) !== cost.timeCost || m[3] !== '1';
}

const dummies = new Map<string, Promise<string>>();

/**
 * Spends the time of one verification at `cost` against a hash of nothing:
 * a login for an unknown user takes as long as a wrong password, so timing
 * does not tell which usernames exist.
 */
export async function verifyNothing(password: string, cost: PasswordCost): Promise<false> {
  const key = `${cost.memoryKib}:${cost.timeCost}`;
  let dummy = dummies.get(key);
  if (!dummy) dummies.set(key, (dummy = hashPassword('no user has this password', cost)));
  await verifyPassword(await dummy, password);
  return false;
}
