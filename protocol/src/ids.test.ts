import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isId, LOGICAL_SHARDS, newId, randomShard, shardOfId, timeOfId } from './ids.js';

describe('ids', () => {
  it('carry their shard and their time, for every shard and time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: LOGICAL_SHARDS - 1 }),
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        (shard, t) => {
          const id = newId(shard, t);
          expect(isId(id)).toBe(true);
          expect(shardOfId(id)).toBe(shard);
          expect(timeOfId(id)).toBe(t);
        },
      ),
    );
  });

  it('randomShard picks a logical shard, any of them', () => {
    const seen = new Set(Array.from({ length: 20_000 }, () => randomShard()));
    expect([...seen].every((s) => Number.isInteger(s) && s >= 0 && s < LOGICAL_SHARDS)).toBe(true);
    expect(seen.size).toBeGreaterThan(1000);
  });

  it('sort by time as text', () => {
    const a = newId(1023, 1_700_000_000_000);
    const b = newId(0, 1_700_000_000_001);
    expect(a < b).toBe(true);
  });

  it('refuse a shard outside 0–1023 and read nothing from a non-id', () => {
    expect(() => newId(1024)).toThrow(RangeError);
    expect(() => newId(-1)).toThrow(RangeError);
    expect(shardOfId('not-an-id')).toBeUndefined();
    // Upper case and other versions are not ids: one canonical spelling per row.
    const id = newId(5);
    expect(isId(id.toUpperCase())).toBe(false);
    expect(isId(`${id.slice(0, 14)}4${id.slice(15)}`)).toBe(false);
    expect(timeOfId('x')).toBeUndefined();
  });
});
