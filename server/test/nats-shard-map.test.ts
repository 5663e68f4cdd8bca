import { connect } from '@nats-io/transport-node';
import { shardMapStoreContract } from '@shutter/actors/testing';
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
