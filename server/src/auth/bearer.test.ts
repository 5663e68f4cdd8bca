import { describe, expect, it } from 'vitest';
import { bearerMatches } from './bearer.js';

describe('bearerMatches', () => {
  const token = 'a'.repeat(40);
  it('accepts exactly "Bearer <token>"', () => {
    expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
  });
  it('refuses a missing, shorter, longer or different header', () => {
    for (const h of [undefined, '', token, `Bearer ${token.slice(1)}`, `Bearer ${token}a`, `bearer ${token}`])
      expect(bearerMatches(h, token)).toBe(false);
  });
  it('never matches an empty token', () => {
    expect(bearerMatches('Bearer ', '')).toBe(false);
  });
});
