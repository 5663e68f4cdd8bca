import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { MemoryBus } from '../runtime/memory-bus.js';
import { ClusterNode, RELIST_EVERY_TICKS } from './cluster-node.js';
import { ClusterView } from './cluster-view.js';
import { MemoryShardMapStore } from './memory-shard-map-store.js';
import type { ShardMapChange, ShardMapStore } from './shard-map-store.js';
import { FakeDb, FakeSystem, TIMINGS } from './test-cluster.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

it('a view merges a re-read map by revision: a missed change lands, an older one never wins', () => {
  const view = new ClusterView(8);
  const rec = (owner: string, epoch: number) => ({ owner, epoch, state: 'active' });
  view.apply({ key: 'shard.3', revision: 5, value: rec('a', 1) });
  // The watch missed revision 9; the periodic re-read brings it.
  view.load([{ key: 'shard.3', revision: 9, value: rec('b', 2) }]);
  expect(view.apply({ key: 'shard.3', revision: 7, value: rec('c', 1) } as ShardMapChange)).toBe(false);
  view.load([{ key: 'shard.3', revision: 6, value: rec('a', 1) }]);
  expect(view.apply({ key: 'shard.3', revision: 9, value: rec('b', 2) } as ShardMapChange)).toBe(false);
});

it(`re-reads the whole map every ${RELIST_EVERY_TICKS} ticks, besides watching it`, async () => {
  const inner = new MemoryShardMapStore();
  let lists = 0;
  const store: ShardMapStore = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'list') {
        return () => {
          lists++;
          return target.list();
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const node = new ClusterNode({ nodeId: 'solo', store, bus: new MemoryBus(), ...TIMINGS });
  await node.start(new FakeSystem(node, new FakeDb()));
  const atStart = lists;
  await vi.advanceTimersByTimeAsync(TIMINGS.heartbeatMs * RELIST_EVERY_TICKS * 2 + 50);
  expect(lists - atStart).toBeGreaterThanOrEqual(2);
  await node.stop();
});
