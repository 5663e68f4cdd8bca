import { idempotencyReplaySuite } from '../testing/idempotency-replay.js';
import { MemoryStateStore } from './memory-state-store.js';

idempotencyReplaySuite('MemoryStateStore', {
  async open() {
    return { store: new MemoryStateStore(), close: async () => {} };
  },
});
