import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { RedisFeedStore } from '../src/adapters/redis-feed-store.js';
import { feedStoreContract } from '../src/capabilities/feed/feed-store-contract.js';
import { redisUrl, uniqueName } from './services.js';

const prefix = uniqueName('feeds');
const clients: Redis[] = [];
let n = 0;
feedStoreContract(
  'RedisFeedStore',
  async () => {
    const r = new Redis(redisUrl);
    clients.push(r);
    return new RedisFeedStore(r, prefix, { maxItems: 10, ttlSeconds: 60 });
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
