import type { Sql } from '../sql/sql.js';
import { SentBatch } from './sent-batch.js';

/** One database's claim loop: sleeps until woken, the next poll, or the earliest retry it scheduled. */
export class DatabaseLoop {
  done: Promise<void> = Promise.resolve();
  readonly sent: SentBatch;
  /** It found too few free slots to claim a batch: a freed slot wakes it. */
  starved = false;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private nextAt = Number.POSITIVE_INFINITY;

  constructor(readonly sql: Sql) {
    this.sent = new SentBatch(sql);
  }

  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  /** Looks again at `at` (ms since the epoch) at the latest: a retry this node scheduled is due then. */
  wakeAt(at: number): void {
    if (at >= this.nextAt) return;
    this.nextAt = at;
    this.wake();
  }

  idle(pollMs: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    const now = Date.now();
    if (this.nextAt <= now) this.nextAt = Number.POSITIVE_INFINITY;
    const ms = Math.max(0, Math.min(pollMs, this.nextAt - now));
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.wakeUp = undefined;
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
