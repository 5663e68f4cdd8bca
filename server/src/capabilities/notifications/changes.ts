import type { NotificationRow } from './tables.js';

/** Of every notification changed in a minute, at most `limit` go live: NOTIFY_LIVE_PER_MINUTE, per recipient. */
export class LiveBudget {
  static readonly WINDOW_MS = 60_000;
  start: number;
  used: number;

  constructor(
    windowStart: number,
    windowUsed: number,
    now: number,
    private readonly limit: number,
  ) {
    const fresh = now - windowStart >= LiveBudget.WINDOW_MS;
    this.start = fresh ? now : windowStart;
    this.used = fresh ? 0 : windowUsed;
  }

  /** Takes one live event if the window has one left. */
  take(): boolean {
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }
}

/**
 * What one recipient's transaction changed: notifications by id in the
 * order they changed (with their row when it is known to be current, and
 * whether they go live), and the ones removed.
 */
export class Changes {
  private readonly changed = new Map<string, { row: NotificationRow | undefined; live: boolean }>();
  /** Groups already folded live in this transaction: a later event of the job folds into the same notification. */
  private readonly liveGroups = new Set<string>();
  readonly removed: string[] = [];

  /** Whether the group's notification already took a live event in this transaction. */
  isLiveGroup(group: string): boolean {
    return this.liveGroups.has(group);
  }

  /** A notification of `group` written with its current row (an addition), live or not. */
  written(group: string, row: NotificationRow, live: boolean): void {
    if (live) this.liveGroups.add(group);
    const was = this.changed.get(row.id);
    this.changed.set(row.id, { row, live: live || (was?.live ?? false) });
  }

  /** A notification changed by a statement that did not return it (a withdrawal). */
  touched(id: string): void {
    const was = this.changed.get(id);
    this.changed.set(id, { row: undefined, live: was?.live ?? false });
  }

  /** A notification deleted: nobody is left in it. */
  deleted(id: string): void {
    this.changed.delete(id);
    this.removed.push(id);
  }

  get empty(): boolean {
    return this.changed.size === 0 && this.removed.length === 0;
  }

  /**
   * Gives the budget's remaining live events to the changed notifications
   * not live yet, in order; answers the ids of live ones whose row must be
   * read again.
   */
  settle(budget: LiveBudget): string[] {
    const stale: string[] = [];
    for (const [id, c] of this.changed) {
      if (!c.live) c.live = budget.take();
      if (c.live && !c.row) stale.push(id);
    }
    return stale;
  }

  /** Sets rows read again (`settle`'s ids). */
  refresh(rows: readonly NotificationRow[]): void {
    for (const r of rows) {
      const c = this.changed.get(r.id);
      if (c) c.row = r;
    }
  }

  /** The live notifications, oldest change first. */
  live(): NotificationRow[] {
    const out: NotificationRow[] = [];
    for (const c of this.changed.values()) if (c.live && c.row) out.push(c.row);
    return out;
  }
}
