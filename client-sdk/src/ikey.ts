/** Idempotency keys: 8–128 of `[A-Za-z0-9_.:-]` (protocol `IdempotencyKey`). */
export const IKEY_PATTERN = /^[A-Za-z0-9_.:-]{8,128}$/;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

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

/** A fresh random key: `k` + time (base 36) + `.` + 22 random base64url characters (132 bits). */
export function newIdempotencyKey(): string {
  let out = `k${Date.now().toString(36)}.`;
  for (const b of randomBytes(22)) out += ALPHABET[b & 63];
  return out;
}

export function isValidIdempotencyKey(key: string): boolean {
  return IKEY_PATTERN.test(key);
}
