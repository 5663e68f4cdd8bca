/**
 * Test helpers: several `ClusterNode`s in one process over one memory store
 * and bus, each with a tiny fake actor system (counters that remember which
 * node and epoch applied each increment). Not exported from the package.
 */

import { vi } from 'vitest';
import { ActorTimeout, isRetryable, ShardNotOwned } from '../runtime/errors.js';
import { MemoryBus } from '../runtime/memory-bus.js';
import type { ActorEnvelope } from '../runtime/placement.js';
import { ClusterNode, type ClusterNodeOptions } from './cluster-node.js';
import { MemoryShardMapStore } from './memory-shard-map-store.js';
import type { ShardHost } from './shard-keeper.js';
import type { ShardMapChange, ShardMapStore, ShardMapWatch, WatchOptions } from './shard-map-store.js';

/** A store handle that can be cut off (every call hangs until healed), as a partition would. */
export class CuttableStore implements ShardMapStore {
  cut = false;
  /** Set: every call fails at once with it, as calls do while NATS is disconnected. */
  failWith: Error | undefined;
  private waiters: (() => void)[] = [];
  constructor(private readonly inner: ShardMapStore) {}
  private async gate(): Promise<void> {
    while (this.cut) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failWith) throw this.failWith;
  }
  heal(): void {
    this.cut = false;
    for (const w of this.waiters.splice(0)) w();
  }
  async list() {
    await this.gate();
    return this.inner.list();
  }
  async get(k: string) {
    await this.gate();
    return this.inner.get(k);
  }
  async create(k: string, v: unknown) {
    await this.gate();
    return this.inner.create(k, v);
  }
  async update(k: string, v: unknown, r: number) {
    await this.gate();
    return this.inner.update(k, v, r);
  }
  async delete(k: string, r?: number) {
    await this.gate();
    return this.inner.delete(k, r);
  }
  watch = async (fn: (c: ShardMapChange) => void, options?: WatchOptions): Promise<ShardMapWatch> =>
    this.inner.watch((c) => {
      if (!this.cut) fn(c);
    }, options);
  ensure = async () => {
    await this.gate();
    return this.inner.ensure();
  };
  close = () => this.inner.close();
}

/** Durable counters shared by all fake nodes, fenced by shard epoch like the real StateStore. */
export class FakeDb {
  readonly counts = new Map<string, number>();
  readonly fences = new Map<number, number>();
  rejected = 0;
  commit(shard: number, epoch: number, id: string): void {
    if (epoch < (this.fences.get(shard) ?? 0)) {
      this.rejected++;
      throw new ShardNotOwned(shard);
    }
    this.fences.set(shard, epoch);
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }
}

/** Just enough of an ActorSystem: activations per shard, `inc` and `where` messages, routing with retries. */
export class FakeSystem implements ShardHost {
  readonly active = new Map<number, Set<string>>();
  readonly stopped: number[] = [];
  constructor(
    readonly node: ClusterNode,
    private readonly db: FakeDb,
  ) {}

  async deliverLocal(env: ActorEnvelope): Promise<unknown> {
    const shard = this.node.shardOf(env.type, env.id);
    const loc = this.node.locate(shard);
    if (loc.kind !== 'local') throw new ShardNotOwned(shard);
    let set = this.active.get(shard);
    if (!set) this.active.set(shard, (set = new Set()));
    set.add(env.id);
    if (env.msg.type === 'inc') this.db.commit(shard, loc.epoch, env.id);
    return { node: this.node.nodeId, epoch: loc.epoch };
  }

  async stopShard(shard: number): Promise<void> {
    this.stopped.push(shard);
    this.active.delete(shard);
  }

  activeShards(): Iterable<number> {
    return this.active.keys();
  }

  /** The runtime's routing loop, as the Placement contract describes it. */
  async ask(
    type: string,
    id: string,
    msgType: string,
    timeoutMs = 5000,
  ): Promise<{ node: string; epoch: number }> {
    const env: ActorEnvelope = {
      type,
      id,
      msg: { type: msgType },
      kind: 'ask',
      deadline: Date.now() + timeoutMs,
    };
    for (;;) {
      const loc = this.node.locate(this.node.shardOf(type, id));
      try {
        if (loc.kind === 'local') return (await this.deliverLocal(env)) as { node: string; epoch: number };
        if (loc.kind === 'remote')
          return (await this.node.forward(loc.node, env, env.deadline)) as { node: string; epoch: number };
      } catch (e) {
        if (!isRetryable(e)) throw e;
      }
      if (Date.now() >= env.deadline) throw new ActorTimeout(`${type}/${id}`, env.deadline);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export const TIMINGS = {
  shardCount: 64,
  heartbeatMs: 100,
  leaseMs: 400,
  handoffTimeoutMs: 1000,
  sweepAfterMs: 1200,
  settleMs: 100,
};

export function makeCluster() {
  const store = new MemoryShardMapStore();
  const bus = new MemoryBus();
  const db = new FakeDb();
  const nodes = new Map<string, { node: ClusterNode; system: FakeSystem; store: CuttableStore }>();
  return {
    store,
    bus,
    db,
    nodes,
    async add(nodeId: string, extra: Partial<ClusterNodeOptions> = {}) {
      const s = new CuttableStore(store);
      const node = new ClusterNode({ nodeId, store: s, bus, ...TIMINGS, ...extra });
      const system = new FakeSystem(node, db);
      await node.start(system);
      const entry = { node, system, store: s };
      nodes.set(nodeId, entry);
      return entry;
    },
    /** Owner of every shard per the store (the truth, not a node's view). */
    async owners(): Promise<Map<number, { owner: string; epoch: number; state: string }>> {
      const out = new Map<number, { owner: string; epoch: number; state: string }>();
      for (const e of await store.list()) {
        if (e.key.startsWith('shard.'))
          out.set(Number(e.key.slice(6)), e.value as { owner: string; epoch: number; state: string });
      }
      return out;
    },
  };
}

/** Advances fake time (the tests fake timers and Date) by `ms`, running what falls due. */
export const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

/** Advances fake time until `cond` holds; fails after `ms` of it. Returns the time it took. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<number> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await advance(10);
  }
  return Date.now() - start;
}

/** Until every shard is active on one of `expectNodes`, and each of them owns some; then lets every view catch up. */
export async function settled(c: ReturnType<typeof makeCluster>, expectNodes: string[], ms = 5000) {
  await until(async () => {
    const owners = await c.owners();
    if (owners.size !== TIMINGS.shardCount) return false;
    const seen = new Set([...owners.values()].map((o) => (o.state === 'active' ? o.owner : '?')));
    return seen.size === expectNodes.length && expectNodes.every((n) => seen.has(n));
  }, ms);
  await advance(50);
}
