import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { RedisExploreStore } from '../src/adapters/redis-explore-store.js';
import { RedisTrendingStore } from '../src/adapters/redis-trending-store.js';
import { exploreStoreContract } from '../src/capabilities/explore/explore-store-contract.js';
import { trendingStoreContract } from '../src/capabilities/trending/trending-store-contract.js';
import { redisUrl, uniqueName } from './services.js';

const prefix = uniqueName('discovery');
const clients: Redis[] = [];
let n = 0;
const client = () => {
  const r = new Redis(redisUrl);
  clients.push(r);
  return r;
};

trendingStoreContract('RedisTrendingStore', async () => new RedisTrendingStore(client(), `${prefix}:${++n}`));
exploreStoreContract(
  'RedisExploreStore',
  async () =>
    new RedisExploreStore(client(), prefix, { picksTtlMs: 60_000, shownTtlMs: 60_000, shownMax: 5 }),
  () => `u${++n}`,
);

afterAll(async () => {
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
  await Promise.all(clients.map((c) => c.quit()));
});
