import { newId, ShutterError } from '@shutter/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';

describe('post list cursors', () => {
  it('decode what they encode', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 2 ** 47 }), (shard, t) => {
        const id = newId(shard, t);
        expect(decodeCursor(encodeCursor(id))).toBe(id);
      }),
    );
  });

  it('refuse anything else with invalid_cursor', () => {
    const bad = [
      '',
      '!!',
      'AAAA',
      Buffer.from('p1:nope').toString('base64url'),
      Buffer.from(newId(1)).toString('base64url'),
    ];
    for (const c of bad) {
      const err = (() => {
        try {
          decodeCursor(c);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ShutterError);
      expect((err as ShutterError).code).toBe('invalid_cursor');
    }
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          expect(decodeCursor(s)).toMatch(/^[0-9a-f-]{36}$/);
        } catch (e) {
          expect((e as ShutterError).code).toBe('invalid_cursor');
        }
      }),
    );
  });
});
