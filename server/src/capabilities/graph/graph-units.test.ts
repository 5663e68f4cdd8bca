import { newId } from '@shutter/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyedLock } from './keyed-lock.js';
import { decodeCursor, encodeCursor } from './lists.js';

describe('list cursors', () => {
  it('round-trip any edge id', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 2 ** 47 }), (shard, t) => {
        const id = newId(shard, t);
        expect(decodeCursor(encodeCursor(id))).toBe(id);
      }),
    );
  });

  it('refuse anything else with invalid_cursor', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        let code: string | undefined;
        try {
          decodeCursor(s);
        } catch (e) {
          code = (e as { code?: string }).code;
        }
        expect(code).toBe('invalid_cursor');
      }),
    );
  });
});

describe('KeyedLock', () => {
  it('runs tasks of one key one at a time, in order, and keys apart at once', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a1 = lock.run('a', async () => {
      log.push('a1 start');
      await gate;
      log.push('a1 end');
      return 1;
    });
    const a2 = lock.run('a', async () => {
      log.push('a2');
      throw new Error('a2 fails');
    });
    const a3 = lock.run('a', async () => log.push('a3'));
    const b1 = lock.run('b', async () => log.push('b1'));
    await b1;
    expect(log).toEqual(['a1 start', 'b1']);
    release();
    expect(await a1).toBe(1);
    await expect(a2).rejects.toThrow('a2 fails');
    await a3;
    expect(log).toEqual(['a1 start', 'b1', 'a1 end', 'a2', 'a3']);
    await new Promise((r) => setTimeout(r, 0));
    expect(lock.size).toBe(0);
  });
});
