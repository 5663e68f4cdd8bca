import { ShutterError } from '@shutter/protocol';

const KEY = /^[A-Za-z0-9_.=-]+(\/[A-Za-z0-9_.=-]+)*$/;

/** Throws `bad_request` unless `key` follows the BlobStore key rules (see the port's contract). */
export function assertKey(key: string): void {
  const ok =
    key.length >= 1 &&
    key.length <= 1024 &&
    KEY.test(key) &&
    !key.includes('..') &&
    !key.split('/').some((s) => s === '.');
  if (!ok) throw new ShutterError('bad_request', `invalid object key "${key.slice(0, 80)}"`);
}

/** True when a segment of the key is a SHA-256 in hex: the bytes under it never change. */
export function isContentAddressed(key: string): boolean {
  return key.split('/').some((s) => /^[0-9a-f]{64}(\.[A-Za-z0-9]+)?$/.test(s));
}

export function assertPartNumber(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 10_000) {
    throw new ShutterError('bad_request', `part number must be an integer from 1 to 10000 (got ${n})`);
  }
}

/** Clamps an inclusive range to an object of `size` bytes; `bad_request` when it starts past the end. */
export function clampRange(
  range: { start: number; end: number },
  size: number,
): { start: number; end: number } {
  if (
    !Number.isInteger(range.start) ||
    !Number.isInteger(range.end) ||
    range.start < 0 ||
    range.end < range.start
  ) {
    throw new ShutterError('bad_request', `invalid byte range ${range.start}-${range.end}`);
  }
  if (range.start >= size) {
    throw new ShutterError('bad_request', `range starts at ${range.start} but the object has ${size} bytes`, {
      details: { size },
    });
  }
  return { start: range.start, end: Math.min(range.end, size - 1) };
}
