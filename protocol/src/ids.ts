/**
 * Shutter ids: the primary keys of everything a client creates (users,
 * posts, comments…) and of what the server creates for them.
 *
 * An id is a UUIDv7 (RFC 9562): 48 bits of milliseconds, so ids sort by time
 * as text, then the version nibble `7`, then the 12-bit `rand_a` field, whose
 * top 10 bits hold the **logical shard** (0–1023) of the row's owner — the
 * way Instagram's ids carry their shard. Whoever holds an id can find its
 * database without a lookup: a post's id carries its author's shard, so the
 * post lives beside its author. The remaining 2 + 62 bits are random.
 *
 * ```
 * tttttttt-tttt-7SSS-vrrr-rrrrrrrrrrrr   SSS = shard << 2 | 2 random bits
 * ```
 *
 * Clients make ids for what they create (`newId(shardOfId(myUserId))`), so a
 * retry at any later time names the same row and is a no-op.
 */

/** Logical shards in the id space (and of the storage map): fixed forever. */
export const LOGICAL_SHARDS = 1024;

const ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The JSON-schema pattern of an id (lower-case canonical UUIDv7). */
export const ID_PATTERN = ID_RE.source;

function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  const crypto = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (typeof crypto?.getRandomValues === 'function') crypto.getRandomValues(bytes);
  // React Native without a getRandomValues polyfill: ids need to be unique, not secret.
  else for (let i = 0; i < n; i++) bytes[i] = Math.floor(Math.random() * 256);
  return bytes;
}

/** A logical shard picked at random: for what has no owner to sit with (a new user, an idempotency key). */
export function randomShard(): number {
  return Math.floor(Math.random() * LOGICAL_SHARDS);
}

/** A fresh id owned by logical shard `shard` (0–1023), made at `now` (ms). */
export function newId(shard: number, now: number = Date.now()): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= LOGICAL_SHARDS)
    throw new RangeError(`shard must be an integer 0–${LOGICAL_SHARDS - 1}`);
  const b = randomBytes(16);
  let t = Math.max(0, Math.floor(now));
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  // rand_a (12 bits) = shard (10) << 2 | 2 random bits.
  const randA = (shard << 2) | ((b[7] as number) & 3);
  b[6] = 0x70 | (randA >> 8);
  b[7] = randA & 0xff;
  b[8] = 0x80 | ((b[8] as number) & 0x3f);
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += (b[i] as number).toString(16).padStart(2, '0');
  }
  return s;
}

/** Whether `id` is a well-formed id (lower-case UUIDv7). */
export function isId(id: string): boolean {
  return id.length === 36 && ID_RE.test(id);
}

/** The logical shard an id carries; undefined if `id` is not an id. */
export function shardOfId(id: string): number | undefined {
  if (!isId(id)) return undefined;
  return Number.parseInt(id.slice(15, 18), 16) >> 2;
}

/** When the id was made (ms since the epoch); undefined if `id` is not an id. */
export function timeOfId(id: string): number | undefined {
  if (!isId(id)) return undefined;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
