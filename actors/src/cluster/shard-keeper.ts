import type { ActorEnvelope } from '../runtime/placement.js';
import type { ClusterContext } from './context.js';
import { keys, parseShard } from './records.js';
import { ShardMapConflict } from './shard-map-store.js';

/** The part of the actor system the cluster drives (the runtime's `ActorSystem` has it). */
export interface ShardHost {
  /** Handles an envelope that arrived from another node for a shard owned here. */
  deliverLocal(envelope: ActorEnvelope): Promise<unknown>;
  /** Stops the shard's activations: in-flight turns finish, state is saved, then they are gone. */
  stopShard(shard: number): Promise<void>;
  /** Shards with at least one activation here. */
  activeShards(): Iterable<number>;
}

const RELEASE_ATTEMPTS = 10;
/** Handoffs run at most this many at a time: each costs store writes, and heartbeats share the store. */
const HANDOFF_CONCURRENCY = 8;

/** A counting semaphore. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * Keeps this node's activations in line with the shard map:
 *
 * - Handoff (old owner): when the coordinator marks one of our shards
 *   `moving`, stop it (the host finishes in-flight turns and saves), then
 *   release it by CAS to `{owner: to, epoch + 1, active}`. The new owner
 *   activates on demand under the new epoch.
 * - Drop: when a shard stops being ours without a handoff (taken over while we
 *   were presumed dead, or its epoch moved under us), stop its activations;
 *   their saves carry the old epoch and the store rejects them.
 *
 * While either runs, `blocked(shard)` is true and `locate` says 'moving'.
 */
export class ShardKeeper {
  /** The epoch under which the host may hold activations of each shard we own. */
  private readonly ownedEpoch = new Map<number, number>();
  private readonly busy = new Map<number, Promise<void>>();
  private readonly slots = new Slots(HANDOFF_CONCURRENCY);

  constructor(
    private readonly ctx: ClusterContext,
    private readonly host: ShardHost,
  ) {}

  blocked(shard: number): boolean {
    return this.busy.has(shard);
  }

  /** Resolves when no handoff or drop is running. */
  async idle(): Promise<void> {
    while (this.busy.size > 0) await Promise.allSettled([...this.busy.values()]);
  }

  /** Reacts to a change of shard `shard` in the view. */
  onShardChange(shard: number): void {
    const rec = this.ctx.view.shard(shard)?.value;
    const me = this.ctx.nodeId;
    const prev = this.ownedEpoch.get(shard);
    if (rec?.owner === me && rec.state === 'moving') {
      this.run(shard, () => this.handOff(shard));
      return;
    }
    if (rec?.owner === me) {
      this.ownedEpoch.set(shard, rec.epoch);
      if (prev !== undefined && prev !== rec.epoch) this.run(shard, () => this.drop(shard, 'epoch_changed'));
      return;
    }
    if (prev !== undefined) {
      this.ownedEpoch.delete(shard);
      this.run(shard, () => this.drop(shard, 'taken_over'));
    }
  }

  private run(shard: number, job: () => Promise<void>): void {
    if (this.busy.has(shard)) {
      // One job per shard at a time; re-check the record when it ends.
      this.busy.get(shard)?.finally(() => queueMicrotask(() => this.onShardChange(shard)));
      return;
    }
    const p = job()
      .catch((e: unknown) => this.ctx.log('shard_job_failed', { shard, error: String(e) }))
      .finally(() => this.busy.delete(shard));
    this.busy.set(shard, p);
  }

  private async handOff(shard: number): Promise<void> {
    await this.slots.acquire();
    try {
      await this.stopAndRelease(shard);
    } finally {
      this.slots.release();
    }
  }

  private async stopAndRelease(shard: number): Promise<void> {
    const { store, nodeId, counters, view } = this.ctx;
    try {
      await this.host.stopShard(shard);
    } catch (e) {
      // Anything not saved was never acknowledged (acks follow commits): release anyway.
      this.ctx.log('stop_shard_failed', { shard, error: String(e) });
    }
    const key = keys.shard(shard);
    // Start from the view (no read); after a lost CAS read the store itself.
    let cur = view.shard(shard);
    for (let i = 0; i < RELEASE_ATTEMPTS; i++) {
      const rec = cur?.value;
      if (!cur || !rec || rec.owner !== nodeId || rec.state !== 'moving' || rec.to === undefined) return;
      try {
        const next = { owner: rec.to, epoch: rec.epoch + 1, state: 'active', at: this.ctx.now() };
        const revision = await store.update(key, next, cur.revision);
        view.apply({ key, value: next, revision });
        this.ownedEpoch.delete(shard);
        counters.handoffsOut++;
        return;
      } catch (e) {
        if (!(e instanceof ShardMapConflict)) throw e;
        counters.casConflicts++;
        const fresh = await store.get(key);
        if (fresh) view.apply(fresh);
        const parsed = fresh && parseShard(fresh.value);
        cur = fresh && parsed ? { value: parsed, revision: fresh.revision } : undefined;
      }
    }
  }

  private async drop(shard: number, reason: string): Promise<void> {
    if (![...this.host.activeShards()].includes(shard)) return;
    this.ctx.counters.shardsDropped++;
    this.ctx.log('shard_dropped', { shard, reason });
    await this.host.stopShard(shard).catch(() => {});
  }
}
