import { newId, randomShard } from '@shutter/protocol';
import { IdempotencyKeyExpired, IdempotencyKeyInvalid } from './errors.js';
import { isStorableText } from './state-store.js';

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The time (ms since the epoch) a time-ordered idempotency key was made at:
 * the key is a UUIDv7 or a ULID, optionally after a scope prefix ending in
 * `:` (`system.increment:0190f5c2-…`). Undefined for anything else.
 */
export function keyTime(key: string): number | undefined {
  const id = key.slice(key.lastIndexOf(':') + 1);
  if (id.length === 36) {
    if (!UUIDV7.test(id)) return undefined;
    return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  }
  if (id.length === 26 && ULID.test(id)) {
    let ms = 0;
    for (let i = 0; i < 10; i++) ms = ms * 32 + CROCKFORD.indexOf((id[i] as string).toUpperCase());
    return ms;
  }
  return undefined;
}

/**
 * Checks a key against the idempotency window at `now`: its time must be
 * readable (`IdempotencyKeyInvalid`), not older than `windowMs`
 * (`IdempotencyKeyExpired`: the key may have been pruned, so applying it
 * could apply it twice) and not more than `windowMs` ahead (a clock that far
 * off would keep the key in the table for years). Returns the key's time.
 */
export function checkKey(key: string, now: number, windowMs: number): number {
  return checkKeyAt(key, keyTime(key), now, windowMs);
}

/** `checkKey` with the key's time already read (`keyTime(key)`). */
export function checkKeyAt(key: string, at: number | undefined, now: number, windowMs: number): number {
  if (key.length > 256 || !isStorableText(key))
    throw new IdempotencyKeyInvalid(key, 'it is too long or not storable text');
  if (at === undefined) throw new IdempotencyKeyInvalid(key, 'it does not end in a UUIDv7 or a ULID');
  if (now - at > windowMs) throw new IdempotencyKeyExpired(key, now - at, windowMs);
  if (at - now > windowMs) throw new IdempotencyKeyInvalid(key, 'its time is further ahead than the window');
  return at;
}

/** A UUIDv7 (RFC 9562) made at `ms` (default now): 48 bits of time, 74 random bits (protocol's `newId` on a random shard). */
export function uuidv7(ms: number = Date.now()): string {
  return newId(randomShard(), ms);
}
