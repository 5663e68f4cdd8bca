import { shardMapStoreContract } from '../testing/shard-map-store-contract.js';
import { MemoryShardMapStore } from './memory-shard-map-store.js';

shardMapStoreContract('MemoryShardMapStore', {
  async open() {
    const store = new MemoryShardMapStore();
    return { a: store, b: store, close: () => store.close() };
  },
});
