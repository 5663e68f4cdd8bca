import type { SeenMember } from './cluster-view.js';
import type { ClusterContext } from './context.js';

/**
 * Who this node may consider alive (docs/cluster.md, "Membership and
 * liveness"). A member's silence is measured on this node's own clock, from
 * when this node last *received* a new heartbeat of it (`seenAt`), not from
 * the timestamp inside it.
 *
 * And the silence must be more than a lease *beyond what this node's own
 * stalls explain*. This node's own heartbeats come back through its watch
 * about every heartbeat; a longer gap between two of them is a stall of the
 * store or of this process (an outage everyone shared, a slow burst, a busy
 * event loop), during which peers' heartbeats were held up too. A member is
 * dead when its silence exceeds a lease plus the longest such stall (beyond
 * one heartbeat) since it was last seen, the stall still in progress
 * included. After a shared outage of g, every peer is given a lease + g, and
 * every live one has heartbeated again well before that: the outage moves
 * no shard. A member that stops while this node runs smoothly is dead one
 * lease after its last heartbeat arrived. Sustained jitter only delays the
 * verdict by the jitter, it never suspends judging altogether.
 *
 * This node's start counts as the beginning of a stall: until its first own
 * heartbeat comes back it judges nobody, except records whose own stamp was
 * already about a lease old when it started (left by earlier processes).
 */
export class Liveness {
  /** Our own heartbeats' receipts that came after a gap longer than a heartbeat. */
  private readonly gaps: { at: number; gap: number }[] = [];
  private lastOwn: number;

  constructor(private readonly ctx: ClusterContext) {
    this.lastOwn = ctx.now();
  }

  /** Our own heartbeat came back through the view. */
  ownSeen(now: number): void {
    const gap = now - this.lastOwn;
    this.lastOwn = now;
    if (gap > this.ctx.timings.heartbeatMs) this.gaps.push({ at: now, gap });
    const horizon = now - Math.max(this.ctx.timings.sweepAfterMs, 10 * this.ctx.timings.leaseMs);
    while (this.gaps.length > 0 && this.gaps[0]!.at < horizon) this.gaps.shift();
  }

  /** The store was lost and rebuilt: a stall starts now, and what came before no longer matters. */
  reset(): void {
    this.gaps.length = 0;
    this.lastOwn = this.ctx.now();
  }

  alive(m: SeenMember, now: number): boolean {
    return now - m.seenAt <= this.ctx.timings.leaseMs + this.stallSince(m.seenAt, now);
  }

  /** How long a member has been silent beyond our own stalls (for sweeping). */
  silentFor(m: SeenMember, now: number): number {
    return Math.max(0, now - m.seenAt - this.stallSince(m.seenAt, now));
  }

  /** Our longest stall (beyond one heartbeat) since `since`, the one in progress included. */
  private stallSince(since: number, now: number): number {
    let longest = now - this.lastOwn;
    for (const g of this.gaps) if (g.at > since && g.gap > longest) longest = g.gap;
    return Math.max(0, longest - this.ctx.timings.heartbeatMs);
  }
}
