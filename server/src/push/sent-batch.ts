import type { Sql } from '../sql/sql.js';
import { type ClaimedPush, markSent } from './outbox-rows.js';

interface Waiting {
  push: ClaimedPush;
  resolve: (held: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Gathers the "sent" of one database's pushes that end in the same turn of
 * the event loop into one statement (`markSent`): at a thousand pushes a
 * second, one UPDATE per push would cost the database more than the claims.
 */
export class SentBatch {
  private waiting: Waiting[] = [];

  constructor(private readonly sql: Sql) {}

  /** Resolves true once the push is marked sent, false when its claim no longer held. */
  add(push: ClaimedPush): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.push({ push, resolve, reject });
      if (this.waiting.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    try {
      const held = await markSent(
        this.sql,
        batch.map((w) => w.push),
      );
      for (const w of batch) w.resolve(held.has(w.push.id));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
