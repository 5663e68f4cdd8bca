import type { PostCountsEvent } from '@shutter/protocol';
import { Coalescer } from './coalescer.js';

/** The two timers a live post may hold (its owner maps them onto actor timers). */
export type LiveTimer = 'flush' | 'lapse';

/** One-shot timers of the owner; setting one that is set replaces it. */
export interface LiveTimers {
  set(name: LiveTimer, delayMs: number): void;
  cancel(name: LiveTimer): void;
}

/** What the post's row says now. */
export interface StoredCounts {
  likes: number;
  comments: number;
}

/**
 * The live side of one post, as its actor's activation holds it: who views
 * it (viewer → lease end), and when the next coalesced `counts` update goes
 * out. Viewers come and renew with `view`, go with `leave`, and lapse by
 * themselves (a `lapse` sweep every `sweepMs` while any is held), so a
 * node that dies takes its viewers with it within a lease and a sweep.
 *
 * Updates are coalesced (`Coalescer`): at most one every `intervalMs`, and
 * one after the last change, which reads the row then — the row is the
 * truth, so the last update carries the true counts whatever the order the
 * change events came in. With no viewer a change is dropped: nobody would
 * get the update, and a new viewer's arrival makes one. With no viewer and
 * nothing due it holds no timer, so its actor passivates like any other;
 * until its first viewer it is one small object (every post actor has one).
 */
export class LivePost {
  /** Viewer → end of its lease; made at the first viewer. */
  private viewers: Map<string, number> | undefined;
  private coalescer: Coalescer | undefined;
  private sweeping = false;

  constructor(
    private readonly intervalMs: number,
    private readonly sweepMs: number,
  ) {}

  get viewerCount(): number {
    return this.viewers?.size ?? 0;
  }

  /** No viewer, no update due, no timer. */
  get idle(): boolean {
    return this.viewerCount === 0 && (this.coalescer?.idle ?? true) && !this.sweeping;
  }

  /** `viewer` subscribed or renewed at `now`: it counts for `leaseMs`. */
  view(viewer: string, leaseMs: number, now: number, timers: LiveTimers): void {
    const viewers = (this.viewers ??= new Map());
    this.coalescer ??= new Coalescer(this.intervalMs);
    const fresh = !viewers.has(viewer);
    viewers.set(viewer, now + leaseMs);
    if (fresh) this.changed(now, timers);
    if (!this.sweeping) {
      this.sweeping = true;
      timers.set('lapse', this.sweepMs);
    }
  }

  leave(viewer: string, now: number, timers: LiveTimers): void {
    if (!this.viewers?.delete(viewer)) return;
    this.changed(now, timers);
    if (this.viewers.size === 0 && this.sweeping) {
      this.sweeping = false;
      timers.cancel('lapse');
    }
  }

  /** The counts changed (a like, a comment), or the viewers did. */
  changed(now: number, timers: LiveTimers): void {
    if (!this.coalescer || this.viewerCount === 0) return;
    const delay = this.coalescer.changed(now);
    if (delay !== undefined) timers.set('flush', delay);
  }

  /** The `lapse` timer: viewers past their lease go. */
  lapse(now: number, timers: LiveTimers): void {
    let gone = false;
    for (const [viewer, until] of this.viewers ?? []) {
      if (until > now) continue;
      this.viewers?.delete(viewer);
      gone = true;
    }
    if (gone) this.changed(now, timers);
    this.sweeping = this.viewerCount > 0;
    if (this.sweeping) timers.set('lapse', this.sweepMs);
  }

  /**
   * The `flush` timer: reads the stored counts and publishes the update, if
   * one is due and anyone views. A failure makes it due again (after the
   * interval) and is rethrown for the owner to report.
   */
  async flush(
    clock: () => number,
    timers: LiveTimers,
    read: () => Promise<StoredCounts | undefined>,
    publish: (event: PostCountsEvent) => Promise<unknown>,
  ): Promise<void> {
    const coalescer = this.coalescer;
    if (!coalescer?.begin()) return;
    let failed = true;
    try {
      const counts = this.viewerCount > 0 ? await read() : undefined;
      // Counted after the read: the viewers as they are when the update leaves.
      if (counts && this.viewerCount > 0)
        await publish({
          type: 'counts',
          likes: counts.likes,
          comments: counts.comments,
          viewers: this.viewerCount,
        });
      failed = false;
    } finally {
      const delay = coalescer.done(clock(), failed);
      if (delay !== undefined) timers.set('flush', delay);
    }
  }
}
