import type { Logger } from '../../log.js';

export interface PickJobsOptions {
  concurrency: number;
  /** Users waiting at most; further requests are dropped (asked again at the user's next explore). */
  maxPending: number;
  log: Logger;
}

/**
 * The background computations of explore's recommendations on one node: a
 * user's first explore (or one after their picks got old) asks for one and
 * is answered at once from the fallback; the computation runs here, at most
 * `concurrency` at a time, each user queued once however often they ask.
 * Nothing is durable: a request lost with the node is made again by the
 * user's next explore. Two nodes may compute the same user at once; the
 * last write wins, and both are right.
 */
export class PickJobs {
  /** Users waiting, in the order they asked. */
  private readonly queued = new Set<string>();
  /** Users being computed. */
  private readonly active = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly run: (userId: string) => Promise<void>,
    private readonly o: PickJobsOptions,
  ) {}

  /** Users waiting or being computed. */
  get pending(): number {
    return this.queued.size + this.active.size;
  }

  request(userId: string): void {
    if (this.stopped || this.queued.has(userId) || this.active.has(userId)) return;
    if (this.queued.size >= this.o.maxPending) return;
    this.queued.add(userId);
    this.pump();
  }

  /** Stops taking requests and waits for the computations under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queued.clear();
    await Promise.all(this.running);
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.o.concurrency) {
      const user = this.queued.values().next().value;
      if (user === undefined) return;
      this.queued.delete(user);
      this.active.add(user);
      const job: Promise<void> = this.run(user)
        .catch((err: unknown) =>
          this.o.log.warn({ err, userId: user }, 'explore: computing recommendations failed'),
        )
        .finally(() => {
          this.active.delete(user);
          this.running.delete(job);
          this.pump();
        });
      this.running.add(job);
    }
  }
}
