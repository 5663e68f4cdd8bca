import { Slots } from '../../streams/slots.js';
import { KeyedLock } from '../graph/keyed-lock.js';

/**
 * Where a node's notification jobs run their recipient transactions: one
 * recipient's one after another (its transactions lock its
 * `notification_users` row, so a second one at once would only hold a
 * connection while it waits), and at most NOTIFY_WRITES_AT_ONCE at once
 * over all recipients. A write waits here without a connection: jobs
 * write every recipient of a like batch at once, and eight jobs with fifty
 * recipients each took all ten connections of the pool from the requests
 * (likes at 500 a second over 50 authors waited 2–4 s for one).
 */
export class RecipientWrites {
  private readonly order = new KeyedLock();
  private readonly slots: Slots;

  constructor(atOnce: number) {
    this.slots = new Slots(atOnce);
  }

  run<T>(recipient: string, write: () => Promise<T>): Promise<T> {
    return this.order.run(recipient, () => this.slots.run(write));
  }

  /** Most recipient transactions seen at once. */
  get peak(): number {
    return this.slots.peak;
  }
}
