import { checkCost, gcra, type RateDecision, type RateLimiter, type RateRule } from './rate-limiter.js';

export interface MemoryRateLimiterOptions {
  /** Keys held at most; past it the next keys of the sweep are forgotten (they start full again). */
  maxKeys: number;
}

/** Keys the sweep looks at per take: more than a take can add, so the sweep keeps up. */
const SWEEP_PER_TAKE = 2;

/**
 * The `RateLimiter` of a node without Redis: each key's `tat` (see `gcra`)
 * in a map swept round robin by a cursor, two keys per take: a key whose
 * bucket is full again is forgotten. So idle keys leave without a timer,
 * and memory is bounded by the keys that are filling (at most `maxKeys`:
 * past it the key at the cursor is forgotten early). In this process only:
 * on several nodes each counts its own.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly kind = 'memory' as const;
  private readonly tats = new Map<string, number>();
  /**
   * A live iterator of `tats` (a Map's iterators survive deletes and see
   * later inserts), started again at the end of each round. Restarting
   * from the front on every take would walk the holes deletes leave there.
   */
  private cursor: IterableIterator<[string, number]> | undefined;

  constructor(
    private readonly options: MemoryRateLimiterOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keys held now (for tests and metrics). */
  get size(): number {
    return this.tats.size;
  }

  async take(key: string, rule: RateRule, cost = 1): Promise<RateDecision> {
    checkCost(rule, cost);
    const now = this.now();
    this.sweep(now);
    const step = gcra(this.tats.get(key), now, rule, cost);
    if (!step.ok) return step;
    this.tats.set(key, step.tat);
    if (this.tats.size > this.options.maxKeys) this.tats.delete(this.next()![0]);
    return { ok: true };
  }

  async peek(key: string, rule: RateRule): Promise<RateDecision> {
    const step = gcra(this.tats.get(key), this.now(), rule, 1);
    return step.ok ? { ok: true } : step;
  }

  async reset(key: string): Promise<void> {
    this.tats.delete(key);
  }

  async close(): Promise<void> {
    this.tats.clear();
    this.cursor = undefined;
  }

  private sweep(now: number): void {
    for (let i = 0; i < SWEEP_PER_TAKE; i++) {
      const entry = this.next();
      if (!entry) return;
      if (entry[1] <= now) this.tats.delete(entry[0]);
    }
  }

  /** The entry at the cursor, moving it on; undefined when the map is empty. */
  private next(): [string, number] | undefined {
    let r = this.cursor?.next();
    if (!r || r.done) {
      this.cursor = this.tats.entries();
      r = this.cursor.next();
    }
    return r.done ? undefined : r.value;
  }
}
