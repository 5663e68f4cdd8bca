import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { RedisRateLimiter } from '../src/adapters/redis-rate-limiter.js';
import { rateLimiterContract } from '../src/limits/rate-limiter-contract.js';
import { redisUrl, uniqueName } from './services.js';

const prefix = uniqueName('rl');
const clients: Redis[] = [];
const connect = () => {
  const r = new Redis(redisUrl);
  clients.push(r);
  return r;
};
let n = 0;

// Two connections on one Redis: two nodes sharing the buckets.
rateLimiterContract(
  'RedisRateLimiter',
  async () => ({
    a: new RedisRateLimiter(connect(), prefix),
    b: new RedisRateLimiter(connect(), prefix),
    close: async () => {},
  }),
  () => `r${++n}`,
);

it('keeps a bucket only while it refills: its key expires when the bucket is full again', async () => {
  const r = connect();
  const l = new RedisRateLimiter(r, prefix);
  const rule = { limit: 10, periodMs: 60_000 };
  await l.take('ttl', rule, 3);
  // Three tokens of 6 s each: full again in 18 s, and the key lives that long.
  const ttl = await r.pttl(`${prefix}:rl:ttl`);
  expect(ttl).toBeGreaterThan(17_000);
  expect(ttl).toBeLessThanOrEqual(18_000);
  await l.peek('peeked', rule);
  expect(await r.exists(`${prefix}:rl:peeked`)).toBe(0);
  await l.reset('ttl');
  expect(await r.exists(`${prefix}:rl:ttl`)).toBe(0);
});

afterAll(async () => {
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
  await Promise.all(clients.map((c) => c.quit()));
});
