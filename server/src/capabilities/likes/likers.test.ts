import { newId } from '@shutter/protocol';
import { describe, expect, it } from 'vitest';
import { decodeLikersCursor, encodeLikersCursor } from './likers.js';

describe('likers cursor', () => {
  it('names the group and the last like, opaque and back', () => {
    const userId = newId(3);
    for (const c of [
      { group: 'followed' as const, after: { at: 1_765_000_000_123, userId } },
      { group: 'rest' as const, after: { at: 5, userId } },
      { group: 'rest' as const },
    ]) {
      const text = encodeLikersCursor(c);
      expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeLikersCursor(text)).toEqual(c);
    }
  });

  it('refuses anything it did not make with invalid_cursor', () => {
    const b = (s: string) => Buffer.from(s).toString('base64url');
    for (const bad of [
      'nope!',
      b('k1:x::'),
      b('k1:f:12:not-an-id'),
      b(`k2:f:12:${newId(1)}`),
      b(`k1:r:-1:${newId(1)}`),
      b(`k1:r:12:${newId(1)}:more`),
      b('p1:0190'),
    ])
      expect(() => decodeLikersCursor(bad)).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
  });
});
