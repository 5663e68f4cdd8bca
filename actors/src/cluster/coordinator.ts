import type { SeenMember } from './cluster-view.js';
import { type ClusterContext, forEachLimited } from './context.js';
import type { Liveness } from './liveness.js';
import { planRebalance, type ShardOp } from './rebalance.js';
import { keys, type LeaseRecord } from './records.js';
import { ShardMapConflict } from './shard-map-store.js';

const APPLY_CONCURRENCY = 64;

/**
 * The coordinator role. Every node runs `tick()` each heartbeat: the holder of
 * the `coordinator` lease renews it, anyone else takes it over by
 * compare-and-set once it has expired. Only the holder plans and applies
 * rebalances; every write it makes is a CAS on the shard's revision, so a
 * second coordinator during a lease overlap could only lose races, never
 * corrupt a record or lower an epoch.
 */
export class Coordinator {
  /** Local time until which we may act: the lease we wrote, measured from before the write. */
  private heldUntil = Number.NEGATIVE_INFINITY;
  private leaderSince = 0;
  private running = false;
  private again = false;

  constructor(
    private readonly ctx: ClusterContext,
    private readonly liveness: Liveness,
  ) {}

  /** The map was lost: whatever lease we held is gone with it. */
  reset(): void {
    this.heldUntil = Number.NEGATIVE_INFINITY;
  }

  isLeader(now = this.ctx.now()): boolean {
    return now < this.heldUntil;
  }

  /** Renews or acquires the lease; `eligible` is false while draining. */
  async tick(eligible: boolean): Promise<void> {
    const { store, nodeId, timings } = this.ctx;
    const now = this.ctx.now();
    // The view is fresh enough to decide; a lost CAS below re-reads the store.
    const cur = this.ctx.view.lease();
    const lease = cur?.value;
    if (!eligible) {
      if (lease?.node === nodeId && cur) await this.resign(cur.revision, lease);
      return;
    }
    const mine = lease?.node === nodeId;
    if (lease && !mine && now <= lease.expiresAt) return;
    const next: LeaseRecord = {
      node: nodeId,
      term: mine ? lease.term : (lease?.term ?? 0) + 1,
      expiresAt: now + timings.leaseMs,
    };
    try {
      const revision = cur
        ? await store.update(keys.coordinator, next, cur.revision)
        : await store.create(keys.coordinator, next);
      this.ctx.view.apply({ key: keys.coordinator, value: next, revision });
    } catch (e) {
      if (!(e instanceof ShardMapConflict)) throw e;
      this.ctx.counters.casConflicts++;
      const fresh = await store.get(keys.coordinator);
      if (fresh) this.ctx.view.apply(fresh);
      return;
    }
    if (!mine || !this.isLeader(now)) {
      this.ctx.counters.elections++;
      this.leaderSince = now;
      this.ctx.log('coordinator_elected', { node: nodeId, term: next.term });
    }
    this.heldUntil = now + timings.leaseMs;
  }

  /** Plans and applies one rebalance if we lead; calls during a run coalesce into one more run. */
  async rebalance(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.rebalanceOnce();
      } while (this.again && this.isLeader());
    } finally {
      this.running = false;
    }
  }

  private async rebalanceOnce(): Promise<void> {
    const { view, timings, store, counters } = this.ctx;
    const now = this.ctx.now();
    if (!this.isLeader(now)) return;
    // Give peers that start together a moment to register, so the very first
    // assignment is not all-to-one followed by a wave of moves.
    if (view.assignedCount() === 0 && now - this.leaderSince < timings.settleMs) return;
    const shards = Array.from({ length: timings.shardCount }, (_, i) => view.shard(i));
    const judge = {
      alive: (_: string, m: SeenMember) => this.liveness.alive(m, now),
      silentFor: (_: string, m: SeenMember) => this.liveness.silentFor(m, now),
    };
    const plan = planRebalance({ now, shards, members: view.members(), ...timings, judge });
    if (plan.ops.length > 0) {
      this.ctx.log('rebalance', { node: this.ctx.nodeId, ops: plan.ops.length, live: plan.live });
    }
    await forEachLimited(plan.ops, APPLY_CONCURRENCY, async (op) => {
      if (!this.isLeader()) return;
      try {
        await this.apply(op);
        if (op.kind === 'assign') counters.assigned++;
        else if (op.kind === 'move') counters.movesStarted++;
        else if (op.kind === 'takeover') counters.takeovers++;
        else counters.retargets++;
      } catch (e) {
        if (!(e instanceof ShardMapConflict)) throw e;
        counters.casConflicts++;
        this.again = true;
      }
    });
    for (const s of plan.sweep) {
      await store.delete(keys.member(s.node), s.revision).then(
        () => {
          counters.swept++;
          this.ctx.log('member_swept', { node: s.node });
        },
        () => {},
      );
    }
  }

  private async apply(op: ShardOp): Promise<void> {
    const key = keys.shard(op.shard);
    const { store, view } = this.ctx;
    const revision =
      op.kind === 'assign' ? await store.create(key, op.next) : await store.update(key, op.next, op.revision);
    // See our own write at once: a re-plan before the watch delivers it would
    // otherwise repeat it and lose the CAS.
    view.apply({ key, value: op.next, revision });
  }

  /** Ends our lease at once so a peer need not wait for it to expire. */
  private async resign(revision: number, lease: LeaseRecord): Promise<void> {
    this.heldUntil = Number.NEGATIVE_INFINITY;
    await this.ctx.store.update(keys.coordinator, { ...lease, expiresAt: 0 }, revision).catch(() => {});
    this.ctx.log('coordinator_resigned', { node: this.ctx.nodeId });
  }
}
