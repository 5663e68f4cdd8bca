import { expect, it } from 'vitest';
import { BucketMap, TokenBucket } from './token-bucket.js';

it('allows a burst, then the refill rate, and says how long to wait', () => {
  const b = new TokenBucket(10, 3, 0);
  expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
  expect(b.take(0)).toBe(100);
  expect(b.take(50)).toBe(50);
  expect(b.take(100)).toBe(0);
  expect(b.take(100)).toBe(100);
});

it('never holds more than the burst', () => {
  const b = new TokenBucket(1000, 2, 0);
  expect([b.take(60_000), b.take(60_000), b.take(60_000)]).toEqual([0, 0, 1]);
});

it('prunes buckets that have refilled', () => {
  const m = new BucketMap(10, 10);
  m.take('a', 0);
  m.take('b', 900);
  m.prune(1500);
  // 'a' was forgotten (full again): a fresh bucket, full burst.
  for (let i = 0; i < 10; i++) expect(m.take('a', 1500)).toBe(0);
  expect(m.take('a', 1500)).toBeGreaterThan(0);
});
