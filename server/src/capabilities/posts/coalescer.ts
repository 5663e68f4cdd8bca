/**
 * When a coalesced update goes out: changes mark it due, and updates leave
 * at least `intervalMs` apart (counted from the end of the previous one, so
 * a slow publish never bunches two together), the first of a quiet spell at
 * once. A change that comes while an update is being made (after it read
 * the state) makes another one due, so the last update after the changes
 * stop always reflects them all.
 *
 * Pure bookkeeping: its owner runs the update and keeps the one timer (the
 * delays returned here); when nothing is due it asks for no timer.
 */
export class Coalescer {
  /** A change not yet reflected by an update (not even one being made). */
  private dirty = false;
  /** The owner holds a timer for the next update. */
  private scheduled = false;
  private running = false;
  /** When the last update ended. */
  private last = Number.NEGATIVE_INFINITY;

  constructor(readonly intervalMs: number) {}

  /** Something changed at `now`: the delay to set a timer for, or undefined when one is set or running. */
  changed(now: number): number | undefined {
    this.dirty = true;
    if (this.scheduled || this.running) return undefined;
    this.scheduled = true;
    return Math.max(0, this.last + this.intervalMs - now);
  }

  /** The timer fired: true when an update is to be made now (call `done` after it, whatever happens). */
  begin(): boolean {
    this.scheduled = false;
    if (!this.dirty || this.running) return false;
    this.dirty = false;
    this.running = true;
    return true;
  }

  /**
   * The update ended at `now` (`failed`: it did not go out, so it is due
   * again). The delay of the next timer when changes came meanwhile.
   */
  done(now: number, failed = false): number | undefined {
    this.running = false;
    this.last = now;
    if (failed) this.dirty = true;
    if (!this.dirty) return undefined;
    this.scheduled = true;
    return this.intervalMs;
  }

  /** Nothing due, running or scheduled. */
  get idle(): boolean {
    return !this.dirty && !this.running && !this.scheduled;
  }
}
