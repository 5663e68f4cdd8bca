/** Idempotency keys: 8–128 of `[A-Za-z0-9_.:-]` (protocol `IdempotencyKey`). */
export const IKEY_PATTERN = /^[A-Za-z0-9_.:-]{8,128}$/;

function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  const crypto = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (typeof crypto?.getRandomValues === 'function') {
    crypto.getRandomValues(bytes);
  } else {
    // React Native without a getRandomValues polyfill: keys only need to be
    // unique, not secret, so Math.random plus the time prefix is enough.
    for (let i = 0; i < n; i++) bytes[i] = Math.floor(Math.random() * 256);
  }
  return bytes;
}

/**
 * A fresh key: a UUIDv7 (RFC 9562): 48 bits of the device's clock in ms, then
 * 74 random bits. The server reads the time from it: a key older than the
 * idempotency window (24 h by default) is refused with
 * `idempotency_key_expired` rather than risk applying twice (docs/protocol.md §5.3).
 */
export function newIdempotencyKey(now: number = Date.now()): string {
  const b = randomBytes(16);
  let t = Math.max(0, Math.floor(now));
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = 0x70 | ((b[6] as number) & 0x0f);
  b[8] = 0x80 | ((b[8] as number) & 0x3f);
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += (b[i] as number).toString(16).padStart(2, '0');
  }
  return s;
}

export function isValidIdempotencyKey(key: string): boolean {
  return IKEY_PATTERN.test(key);
}
