import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { RedisPresenceStore } from '../src/adapters/redis-presence-store.js';
import { presenceStoreContract } from '../src/capabilities/presence/presence-store-contract.js';
import { redisUrl, uniqueName } from './services.js';

const prefix = uniqueName('presence');
const redis = new Redis(redisUrl);
let n = 0;
// Each store its own prefix, so the counts of one test are its own.
presenceStoreContract('RedisPresenceStore', async () => new RedisPresenceStore(redis, `${prefix}_${++n}`));

afterAll(async () => {
  const keys = await redis.keys(`${prefix}_*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});
