import type { ClusterContext } from './context.js';
import { keys, type MemberRecord } from './records.js';
import { ShardMapConflict } from './shard-map-store.js';

/**
 * This node's registration: `member.<node>` with a heartbeat timestamp,
 * rewritten by compare-and-set every heartbeat. If the record vanished or
 * changed under us (the coordinator swept us as dead), the next heartbeat
 * registers afresh; the shards we had are gone by then (taken over at a
 * higher epoch), and `ShardKeeper` drops their activations.
 */
export class Membership {
  private revision: number | undefined;
  private lastOkAt = Number.NEGATIVE_INFINITY;
  private readonly startedAt: number;
  private inFlight: Promise<void> | undefined;
  private leavingFlag = false;

  constructor(private readonly ctx: ClusterContext) {
    this.startedAt = ctx.now();
  }

  get leaving(): boolean {
    return this.leavingFlag;
  }

  /**
   * True when our last successful heartbeat is older than a lease: the
   * coordinator may have given our shards away, so we stop serving them
   * (self-fencing; the store's epoch fence is what guarantees safety).
   */
  expired(now: number): boolean {
    return now - this.lastOkAt > this.ctx.timings.leaseMs;
  }

  /** Writes the heartbeat; overlapping calls share one write. */
  heartbeat(): Promise<void> {
    this.inFlight ??= this.write().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** The map was lost and rebuilt: our record is gone, the next heartbeat registers afresh. */
  reset(): void {
    this.revision = undefined;
  }

  async setLeaving(): Promise<void> {
    this.leavingFlag = true;
    await this.inFlight;
    await this.heartbeat();
  }

  async deregister(): Promise<void> {
    await this.inFlight;
    if (this.revision === undefined) return;
    await this.ctx.store.delete(keys.member(this.ctx.nodeId), this.revision).catch(() => {});
    this.revision = undefined;
  }

  private async write(): Promise<void> {
    const { store, nodeId } = this.ctx;
    const started = this.ctx.now();
    const rec: MemberRecord = {
      node: nodeId,
      startedAt: this.startedAt,
      heartbeatAt: started,
      leaving: this.leavingFlag,
    };
    try {
      this.revision =
        this.revision === undefined
          ? await store.create(keys.member(nodeId), rec)
          : await store.update(keys.member(nodeId), rec, this.revision);
      // Count the lease from before the write: the coordinator saw it no earlier.
      this.lastOkAt = started;
      const took = this.ctx.now() - started;
      if (took > this.ctx.timings.heartbeatMs) this.ctx.log('heartbeat_slow', { node: nodeId, ms: took });
    } catch (e) {
      this.ctx.counters.heartbeatFailures++;
      if (e instanceof ShardMapConflict) {
        // Swept, or a record left by an earlier process with our id: start over.
        const cur = await store.get(keys.member(nodeId)).catch(() => undefined);
        this.revision = cur?.revision;
        this.ctx.log('member_conflict', { node: nodeId, found: cur !== undefined });
      } else {
        this.ctx.log('heartbeat_failed', { node: nodeId, error: String(e) });
      }
    }
  }
}
