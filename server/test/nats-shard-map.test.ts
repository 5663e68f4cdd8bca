import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { shardMapStoreContract } from '@shutter/actors/testing';
import { describe, expect, it } from 'vitest';
import { NatsShardMapStore } from '../src/adapters/nats-shard-map.js';
import { natsUrl, uniqueName } from './services.js';

shardMapStoreContract('NatsShardMapStore', {
  async open() {
    const bucket = uniqueName('shardmap');
    const [nc1, nc2] = await Promise.all([connect({ servers: natsUrl }), connect({ servers: natsUrl })]);
    const a = await NatsShardMapStore.open(nc1, bucket);
    const b = await NatsShardMapStore.open(nc2, bucket);
    return {
      a,
      b,
      close: async () => {
        await b.close();
        await a.destroy();
        await Promise.all([nc1.close(), nc2.close()]);
      },
    };
  },
});

describe('NatsShardMapStore when its bucket is lost', () => {
  it('ensure() recreates a deleted bucket, resets the watches of both handles and replays the new one from revision 1', async () => {
    const bucket = uniqueName('shardmap');
    const [nc1, nc2] = await Promise.all([connect({ servers: natsUrl }), connect({ servers: natsUrl })]);
    const a = await NatsShardMapStore.open(nc1, bucket);
    const b = await NatsShardMapStore.open(nc2, bucket);
    try {
      for (let i = 0; i < 5; i++) await a.create(`k${i}`, i);
      const seen: { key: string; revision: number }[] = [];
      let resets = 0;
      await b.watch((c) => seen.push({ key: c.key, revision: c.revision }), { onReset: () => resets++ });
      expect(await a.ensure()).toBe(false);
      // The server loses the bucket (as NATS restarted on an empty store does).
      await (await jetstreamManager(nc1)).streams.delete(`KV_${bucket}`);
      await expect(a.create('k9', 9)).rejects.toThrow();
      expect(await a.ensure()).toBe(true);
      const rev = await a.create('k9', 9);
      expect(rev).toBe(1);
      // b learns of the replacement through its own ensure(): reset, then the new bucket's entries.
      expect(await b.ensure()).toBe(true);
      expect(resets).toBe(1);
      const end = Date.now() + 5000;
      while (!seen.some((s) => s.key === 'k9' && s.revision === 1) && Date.now() < end)
        await new Promise((r) => setTimeout(r, 20));
      expect(seen).toContainEqual({ key: 'k9', revision: 1 });
      expect(await b.ensure()).toBe(false);
      expect((await b.list()).map((e) => e.key)).toEqual(['k9']);
    } finally {
      await b.close();
      await a.destroy();
      await Promise.all([nc1.close(), nc2.close()]);
    }
  });
});
