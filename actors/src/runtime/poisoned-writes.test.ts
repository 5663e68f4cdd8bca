import { poisonedWritesSuite } from '../testing/poisoned-writes.js';
import { MemoryStateStore } from './memory-state-store.js';

// The memory adapter refuses what Postgres refuses (names with U+0000 or a lone surrogate).
poisonedWritesSuite('MemoryStateStore', {
  async open() {
    return { store: new MemoryStateStore(), close: async () => {} };
  },
});
