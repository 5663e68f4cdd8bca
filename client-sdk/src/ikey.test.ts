import { describe, expect, it } from 'vitest';
import { isValidIdempotencyKey, newIdempotencyKey } from './ikey.js';

describe('newIdempotencyKey', () => {
  it('makes UUIDv7 keys carrying the time they were made (the server reads it, docs/protocol.md §5.3)', () => {
    const before = Date.now();
    const k = newIdempotencyKey();
    const after = Date.now();
    expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const at = Number.parseInt(k.slice(0, 8) + k.slice(9, 13), 16);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
    expect(isValidIdempotencyKey(k)).toBe(true);
    expect(Number.parseInt(newIdempotencyKey(1_700_000_000_123).replace('-', '').slice(0, 12), 16)).toBe(
      1_700_000_000_123,
    );
  });
});
