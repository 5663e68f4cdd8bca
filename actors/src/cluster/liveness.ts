import type { SeenMember } from './cluster-view.js';
import type { ClusterContext } from './context.js';

/**
 * Who this node may consider alive (docs/cluster.md, "Membership and
 * liveness"). A member's silence is measured on this node's own clock, from
 * when this node last *received* a new heartbeat of it (`seenAt`), not from
 * the timestamp inside it: a store that delivered nothing for a while (an
 * outage, a slow burst) delays everybody's heartbeats alike.
 *
 * And a member is judged dead only once this node has itself seen the store
 * working for a full lease: its own heartbeats coming back through the
 * watch, with no gap longer than `maxGap()`. After an outage
 * everyone shared, every live member has heartbeated again well before that,
 * so the outage moves no shard. Before this node can judge, the only members
 * it counts dead are those whose own stamp was already a lease old before it
 * started (records left by earlier processes).
 */
export class Liveness {
  private okSince: number | undefined;
  private lastOwn = Number.NEGATIVE_INFINITY;
  private readonly startedAt: number;

  constructor(private readonly ctx: ClusterContext) {
    this.startedAt = ctx.now();
  }

  /** Our own heartbeat came back through the view. */
  ownSeen(now: number): void {
    if (this.okSince === undefined || now - this.lastOwn > this.maxGap()) this.okSince = now;
    this.lastOwn = now;
  }

  /** The store was lost or rebuilt: judge nobody until it has worked for a lease again. */
  reset(): void {
    this.okSince = undefined;
    this.lastOwn = Number.NEGATIVE_INFINITY;
  }

  /** True when this node has seen the store work, without a gap, for a full lease. */
  canJudge(now: number): boolean {
    return (
      this.okSince !== undefined &&
      now - this.okSince >= this.ctx.timings.leaseMs &&
      now - this.lastOwn <= this.maxGap()
    );
  }

  alive(m: SeenMember, now: number): boolean {
    const { leaseMs } = this.ctx.timings;
    if (now - m.seenAt <= leaseMs) return true;
    if (this.canJudge(now)) return false;
    return m.seenAt >= this.startedAt - leaseMs;
  }

  /** How long a member has been silent, for sweeping (only once we can judge). */
  silentFor(m: SeenMember, now: number): number {
    return this.canJudge(now) ? now - m.seenAt : 0;
  }

  /**
   * The longest gap between our own receipts that still counts as "the store
   * worked". A stall of g delays a peer's heartbeat receipt by up to g plus
   * two heartbeats (its phase and ours), so a stall within this bound cannot
   * make a live peer look a lease silent. At least two heartbeats, so that
   * ordinary jitter does not keep resetting the judgement.
   */
  private maxGap(): number {
    const { leaseMs, heartbeatMs } = this.ctx.timings;
    return Math.max(2 * heartbeatMs, leaseMs - 2.5 * heartbeatMs);
  }
}
