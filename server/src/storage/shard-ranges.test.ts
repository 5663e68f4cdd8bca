import { describe, expect, it } from 'vitest';
import { parseShardRanges } from './shard-ranges.js';

describe('parseShardRanges', () => {
  it('reads ranges that cover every logical shard once, sorted', () => {
    const r = parseShardRanges('512-1023=postgres://b/x, 0-511=postgresql://a/x');
    expect(r.problems).toEqual([]);
    expect(r.ranges).toEqual([
      { from: 0, to: 511, url: 'postgresql://a/x' },
      { from: 512, to: 1023, url: 'postgres://b/x' },
    ]);
  });

  it('says which shards are missing, given twice, or malformed', () => {
    expect(parseShardRanges('0-500=postgres://a/x').problems).toEqual([
      'DATABASE_SHARDS: logical shards 501-1023 have no database.',
    ]);
    expect(parseShardRanges('0-600=postgres://a/x,500-1023=postgres://b/x').problems).toEqual([
      'DATABASE_SHARDS: logical shards 500-600 are given twice.',
    ]);
    expect(parseShardRanges('10-1023=postgres://a/x').problems).toEqual([
      'DATABASE_SHARDS: logical shards 0-9 have no database.',
    ]);
    expect(parseShardRanges('0-1024=postgres://a/x').problems[0]).toMatch(/not a range within 0-1023/);
    expect(parseShardRanges('0-1023=mysql://a/x').problems[0]).toMatch(/is not <from>-<to>=postgres/);
  });
});
