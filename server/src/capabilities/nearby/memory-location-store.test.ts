import { newId } from '@shutter/protocol';
import { expect, it } from 'vitest';
import { cellOf } from './geo.js';
import { locationStoreContract } from './location-store-contract.js';
import { MemoryLocationStore } from './memory-location-store.js';

locationStoreContract(
  'MemoryLocationStore',
  async () => new MemoryLocationStore(),
  () => newId(1),
);

it('sweeps expired fixes out of their cells and expired friend sets', async () => {
  let now = 1_000_000;
  const s = new MemoryLocationStore(() => now, 60_000);
  const [a, b] = [newId(1), newId(2)];
  const p = { lat: 10, lon: 20 };
  await s.setSharing(a, { on: true, version: 1 });
  await s.put({ userId: a, ...p, accuracy: null, at: now, cell: cellOf(p) }, 1000);
  await s.setFriends(b, [a], 500, 0);
  const inner = s as unknown as {
    cells: Map<string, unknown>;
    fixes: Map<string, unknown>;
    friends: Map<string, unknown>;
  };
  expect([inner.cells.size, inner.fixes.size, inner.friends.size]).toEqual([3, 1, 1]);
  now += 1000;
  (s as unknown as { sweep(): void }).sweep();
  expect([inner.cells.size, inner.fixes.size, inner.friends.size]).toEqual([0, 0, 0]);
  await s.close();
});
