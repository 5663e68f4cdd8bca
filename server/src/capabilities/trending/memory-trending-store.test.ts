import { MemoryTrendingStore } from './memory-trending-store.js';
import { trendingStoreContract } from './trending-store-contract.js';

trendingStoreContract('MemoryTrendingStore', async () => new MemoryTrendingStore());
