import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
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

afterAll(async () => {
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
  await Promise.all(clients.map((c) => c.quit()));
});
