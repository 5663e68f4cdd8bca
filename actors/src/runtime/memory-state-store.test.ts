import { expect, it } from 'vitest';
import { stateStoreContract } from '../testing/state-store-contract.js';
import { MemoryStateStore } from './memory-state-store.js';

stateStoreContract('MemoryStateStore', {
  async open() {
    return { store: new MemoryStateStore(), close: async () => {} };
  },
});

it('MemoryStateStore counts one transaction per batch and fails every call while failWith is set', async () => {
  const s = new MemoryStateStore();
  const w = { type: 't', id: 'a', shard: 1, epoch: 1, expectedVersion: 0, state: 1 };
  await s.saveBatch([w, { ...w, id: 'b' }]);
  expect(s.transactions).toBe(1);
  s.failWith = new Error('disk on fire');
  await expect(s.load('t', 'a')).rejects.toThrow('disk on fire');
  await expect(s.save({ ...w, id: 'c' })).rejects.toThrow('disk on fire');
  s.failWith = undefined;
  expect(await s.load('t', 'c')).toBeUndefined();
});
