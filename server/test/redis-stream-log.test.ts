import { Redis } from 'ioredis';
import { afterAll, expect, it } from 'vitest';
import { RedisStreamLog } from '../src/adapters/redis-stream-log.js';
import { streamLogContract } from '../src/streams/stream-log-contract.js';
import { redisUrl, uniqueName } from './services.js';

const prefix = uniqueName('slog');
const clients: Redis[] = [];
let n = 0;
streamLogContract(
  'RedisStreamLog',
  async (o) => {
    const r = new Redis(redisUrl);
    clients.push(r);
    return new RedisStreamLog(r, prefix, o);
  },
  () => `r${++n}`,
);

it('holds no more than a short history in Redis: exact trimming, where `~` would keep ~100 entries', async () => {
  const r = new Redis(redisUrl);
  clients.push(r);
  const log = new RedisStreamLog(r, prefix, {
    maxEvents: 1000,
    ttlSeconds: 60,
    historyOf: (s) => (s.startsWith('nearby:') ? 1 : undefined),
  });
  const short = `nearby:r${++n}`;
  const long = `topic:r${++n}`;
  for (let i = 0; i < 250; i++) await log.append(short, { i }, i);
  await log.appendMany(
    [{ stream: short, data: 'last' }, ...Array.from({ length: 300 }, (_, i) => ({ stream: long, data: i }))],
    1,
  );
  expect(await r.xlen(`${prefix}:s:{${short}}:x`)).toBe(1);
  expect(await r.xlen(`${prefix}:s:{${long}}:x`)).toBeGreaterThanOrEqual(300);
});

afterAll(async () => {
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
  await Promise.all(clients.map((c) => c.quit()));
});
