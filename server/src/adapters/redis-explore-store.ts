import type { Redis } from 'ioredis';
import type { ExploreStore, ExploreStoreOptions, Picks } from '../capabilities/explore/explore-store.js';

/**
 * Per user two keys: `<prefix>:explore:picks:<user>`, the picks as JSON
 * with a TTL (replaced whole by each computation), and
 * `<prefix>:explore:shown:<user>`, a sorted set of shown post ids scored by
 * when they were shown, trimmed to the newest `shownMax` and to
 * `shownTtlMs`, expiring with its last write. A read is one pipeline.
 */
export class RedisExploreStore implements ExploreStore {
  readonly kind = 'redis' as const;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly o: ExploreStoreOptions,
  ) {}

  private picksKey(user: string): string {
    return `${this.prefix}:explore:picks:${user}`;
  }

  private shownKey(user: string): string {
    return `${this.prefix}:explore:shown:${user}`;
  }

  async read(user: string, now: number): Promise<{ picks: Picks | undefined; shown: Set<string> }> {
    const r = await this.redis
      .pipeline()
      .get(this.picksKey(user))
      .zrangebyscore(this.shownKey(user), `(${now - this.o.shownTtlMs}`, '+inf')
      .exec();
    const [picks, shown] = values(r) as [string | null, string[]];
    return { picks: picks === null ? undefined : (JSON.parse(picks) as Picks), shown: new Set(shown) };
  }

  async putPicks(user: string, picks: Picks): Promise<void> {
    await this.redis.set(this.picksKey(user), JSON.stringify(picks), 'PX', this.o.picksTtlMs);
  }

  async markShown(user: string, ids: readonly string[], now: number): Promise<void> {
    if (ids.length === 0) return;
    const key = this.shownKey(user);
    values(
      await this.redis
        .multi()
        .zadd(key, ...ids.flatMap((id) => [now, id]))
        .zremrangebyscore(key, '-inf', now - this.o.shownTtlMs)
        .zremrangebyrank(key, 0, -(this.o.shownMax + 1))
        .pexpire(key, this.o.shownTtlMs)
        .exec(),
    );
  }

  async drop(users: readonly string[]): Promise<void> {
    if (users.length === 0) return;
    await this.redis.del(...users.flatMap((u) => [this.picksKey(u), this.shownKey(u)]));
  }

  /** The connection is the node's: it closes it. */
  async close(): Promise<void> {}
}

/** The results of a pipeline or transaction; throws its first error. */
function values(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('the transaction was aborted');
  return results.map(([err, v]) => {
    if (err) throw err;
    return v;
  });
}
