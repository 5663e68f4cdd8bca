import type { CacheGuard } from './cache-guard.js';
import { type Ranked, ranksBefore, type TrendingStore } from './trending-store.js';

/** The top of both trending sets, as a node last read them. */
export interface TrendingTop {
  /** The highest `pool` posts (fewer: the whole set). */
  posts: Ranked[];
  /** The highest `tags` hashtags. */
  tags: Ranked[];
  at: number;
}

export interface TrendingReaderOptions {
  /** How long the top is reused (TRENDING_CACHE_MS). */
  cacheMs: number;
  /** Posts of the top read at once (what explore mixes in, and the first pages of trending). */
  pool: number;
  /** Hashtags of the top. */
  tags: number;
  now: () => number;
}

/**
 * Reads the trending sets for every reader on this node: the top of both
 * is read at most once per TRENDING_CACHE_MS (one call for any number of
 * readers), within the cache guard's budget; pages past the top go to the
 * store. Undefined when the cache failed or was late: the caller serves
 * popular posts.
 */
export class TrendingReader {
  private cached: TrendingTop | undefined;
  private reading: Promise<TrendingTop | undefined> | undefined;

  constructor(
    private readonly store: TrendingStore,
    private readonly guard: CacheGuard,
    private readonly o: TrendingReaderOptions,
  ) {}

  get pool(): number {
    return this.o.pool;
  }

  async top(): Promise<TrendingTop | undefined> {
    const c = this.cached;
    if (c && this.o.now() - c.at < this.o.cacheMs) return c;
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** Up to `limit` posts ranked after `after`: from the top when it reaches, else from the store. */
  async after(after: Ranked, limit: number): Promise<Ranked[] | undefined> {
    const t = await this.top();
    if (!t) return undefined;
    const whole = t.posts.length < this.o.pool;
    const i = t.posts.findIndex((r) => ranksBefore(after, r));
    if (i >= 0 && (whole || i + limit <= t.posts.length)) return t.posts.slice(i, i + limit);
    if (i < 0 && whole) return [];
    return this.guard.run('trending page', () => this.store.top('posts', { limit, after }));
  }

  private async read(): Promise<TrendingTop | undefined> {
    const at = this.o.now();
    const r = await this.guard.run('trending top', () =>
      Promise.all([
        this.store.top('posts', { limit: this.o.pool }),
        this.store.top('tags', { limit: this.o.tags }),
      ]),
    );
    if (!r) return undefined;
    this.cached = { posts: r[0], tags: r[1], at };
    return this.cached;
  }
}
