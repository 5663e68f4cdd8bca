import { newId, randomShard } from '@shutter/protocol/wire';

/** Idempotency keys: 8–128 of `[A-Za-z0-9_.:-]` (protocol `IdempotencyKey`). */
export const IKEY_PATTERN = /^[A-Za-z0-9_.:-]{8,128}$/;

/**
 * A fresh key: a UUIDv7 (RFC 9562): 48 bits of the device's clock in ms, then
 * 74 random bits. The server reads the time from it: a key older than the
 * idempotency window (24 h by default) is refused with
 * `idempotency_key_expired` rather than risk applying twice (docs/protocol.md §5.3).
 */
export function newIdempotencyKey(now: number = Date.now()): string {
  // A Shutter id on a random shard is a UUIDv7 like any other (protocol/src/ids.ts makes both).
  return newId(randomShard(), now);
}

export function isValidIdempotencyKey(key: string): boolean {
  return IKEY_PATTERN.test(key);
}
