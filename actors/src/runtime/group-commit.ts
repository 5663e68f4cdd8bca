export interface GroupCommitOptions {
  /** Most items in one transaction; the rest wait for the next. Default 1000. */
  maxBatch?: number;
  /**
   * Transactions in flight at once. Default 1: everything that arrives during
   * a commit goes into the next one, which is the point (PGlite has one
   * connection anyway; on Postgres a hot row serialises writers).
   */
  maxInFlight?: number;
}

/**
 * Group commit: items submitted while a transaction is in flight wait and go
 * together into the next one. Each `submit` resolves with its own result only
 * after its transaction committed, and rejects with the transaction's error if
 * it failed (every member of a failed batch fails).
 *
 * `commit` receives the batch in submit order and returns one result per item,
 * by index. Submissions in the same tick while idle also share a transaction:
 * the first flush waits one microtask.
 */
export class GroupCommit<T, R> {
  private queue: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;
  /** Transactions started and items committed so far (visibility, tests). */
  readonly counts = { transactions: 0, items: 0, failedTransactions: 0 };

  constructor(
    private readonly commit: (items: T[]) => Promise<R[]>,
    options: GroupCommitOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 1000;
    this.maxInFlight = options.maxInFlight ?? 1;
  }

  /** Items waiting for a transaction (not yet in flight). */
  get pending(): number {
    return this.queue.length;
  }

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled && this.inFlight < this.maxInFlight) {
        this.scheduled = true;
        queueMicrotask(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
      this.queue = batch === this.queue ? [] : this.queue.slice(this.maxBatch);
      this.inFlight++;
      this.counts.transactions++;
      void this.run(batch);
    }
  }

  private async run(batch: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }>) {
    try {
      const results = await this.commit(batch.map((b) => b.item));
      if (results.length !== batch.length)
        throw new Error(`commit returned ${results.length} results for ${batch.length} items`);
      this.counts.items += batch.length;
      for (let i = 0; i < batch.length; i++) batch[i]?.resolve(results[i] as R);
    } catch (e) {
      this.counts.failedTransactions++;
      for (const b of batch) b.reject(e);
    } finally {
      this.inFlight--;
      this.flush();
    }
  }
}
