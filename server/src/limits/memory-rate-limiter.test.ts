import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from './memory-rate-limiter.js';
import { rateLimiterContract } from './rate-limiter-contract.js';

let n = 0;
rateLimiterContract(
  'MemoryRateLimiter',
  async () => {
    const l = new MemoryRateLimiter({ maxKeys: 1000 });
    return { a: l, b: l, close: () => l.close() };
  },
  () => `m${++n}`,
);

describe('MemoryRateLimiter memory', () => {
  const rule = { limit: 10, periodMs: 10_000 };

  it('forgets keys once their buckets are full again, without a timer', async () => {
    let now = 0;
    const l = new MemoryRateLimiter({ maxKeys: 1000 }, () => now);
    for (let i = 0; i < 100; i++) await l.take(`idle${i}`, rule);
    expect(l.size).toBe(100);
    // One take refills a bucket in 1 s; later takes sweep two keys each, a round of 101 in 51.
    now = 1000;
    for (let i = 0; i < 60; i++) await l.take('busy', rule, 1);
    expect(l.size).toBe(1);
  });

  it('keeps keys that are still filling, however often the sweep passes them', async () => {
    let now = 0;
    const l = new MemoryRateLimiter({ maxKeys: 1000 }, () => now);
    await l.take('drained', rule, 10);
    for (let i = 0; i < 200; i++) {
      now += 1;
      await l.take(`k${i}`, rule);
    }
    expect(l.size).toBe(201);
    expect((await l.peek('drained', rule)).ok).toBe(false);
  });

  it('never holds more than maxKeys', async () => {
    const l = new MemoryRateLimiter({ maxKeys: 50 }, () => 0);
    for (let i = 0; i < 200; i++) {
      await l.take(`k${i}`, rule);
      expect(l.size).toBeLessThanOrEqual(50);
    }
    expect(l.size).toBe(50);
  });
});
