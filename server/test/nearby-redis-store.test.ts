import { newId } from '@shutter/protocol';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { RedisLocationStore } from '../src/adapters/redis-location-store.js';
import { locationStoreContract } from '../src/capabilities/nearby/location-store-contract.js';
import { redisUrl, uniqueName } from './services.js';

/** The location store's contract on Redis (the memory adapter runs it in its unit test). */
const prefix = uniqueName('nearby');
const clients: Redis[] = [];
let stores = 0;
locationStoreContract(
  'RedisLocationStore',
  async () => {
    const r = new Redis(redisUrl);
    clients.push(r);
    return new RedisLocationStore(r, `${prefix}:${++stores}`);
  },
  () => newId(1),
);

afterAll(async () => {
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${prefix}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
  await Promise.all(clients.map((c) => c.quit()));
});
