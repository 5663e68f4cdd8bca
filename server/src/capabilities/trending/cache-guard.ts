import type { Logger } from '../../log.js';

export interface CacheGuardOptions {
  /** How long one cache call may take before its caller moves on without it. */
  budgetMs: number;
  /** After a failure or a late answer, calls are skipped for this long. */
  backoffMs: number;
  now: () => number;
  log: Logger;
}

/**
 * Runs the cache calls of the trending and explore paths within a time
 * budget, so that a cache that is down, slow or unreachable costs a reader
 * at most the budget and then the fallback (popular posts). After a
 * failure it stops asking for `backoffMs`, so during an outage readers get
 * the fallback at once instead of each waiting out the budget; the first
 * call after that tries again. One guard per node (its cache connection).
 */
export class CacheGuard {
  private openUntil = 0;

  constructor(private readonly o: CacheGuardOptions) {}

  /** Whether calls are being skipped now (a recent failure). */
  get open(): boolean {
    return this.o.now() < this.openUntil;
  }

  /** `fn`'s answer, or undefined when it failed, was late, or calls are skipped. */
  async run<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.open) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.o.budgetMs);
    });
    const work = fn();
    try {
      const r = await Promise.race([work, late]);
      if (r !== 'late') return r;
      // Its answer or error comes later, to nobody.
      work.catch(() => {});
      this.trip(what, undefined);
      return undefined;
    } catch (err) {
      this.trip(what, err);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a write nobody waits for (skipped while calls are); a failure trips the guard. */
  fire(what: string, fn: () => Promise<unknown>): void {
    if (this.open) return;
    fn().catch((err: unknown) => this.trip(what, err));
  }

  private trip(what: string, err: unknown): void {
    const wasOpen = this.open;
    this.openUntil = this.o.now() + this.o.backoffMs;
    if (!wasOpen)
      this.o.log.warn(
        { err, what, budgetMs: this.o.budgetMs, backoffMs: this.o.backoffMs },
        err === undefined
          ? 'cache call on the trending/explore path ran out of time: serving popular posts meanwhile'
          : 'cache call on the trending/explore path failed: serving popular posts meanwhile',
      );
  }
}
