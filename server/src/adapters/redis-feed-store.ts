import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { FeedEntry, FeedStore, FeedStoreOptions } from '../capabilities/feed/feed-store.js';

/**
 * One sorted set per reader, `<prefix>:feed:<reader>`, every member at score
 * 0 so members sort by their text: post ids (UUIDv7, hex, time-ordered) read
 * newest first with ZREVRANGEBYLEX. Markers live in the same key, as members
 * below every id (`!` sorts before `0`): `!built` once the feed is built and
 * `!b:<token>` while a build is in progress. Keeping them in the feed's own
 * key means an eviction or a flush takes the feed and its marker together:
 * a feed is never "built" with its ids gone. Ids are ranged from `[0`.
 */
const BUILT = '!built';
const IDS_MIN = '[0';

/** Trims to the newest ARGV max ids, keeping the markers (the lowest members). */
const TRIM = `
local function trim(key, max)
  local n = redis.call('ZLEXCOUNT', key, '[0', '+')
  local over = n - max
  if over > 0 then
    local k = redis.call('ZCARD', key) - n
    redis.call('ZREMRANGEBYRANK', key, k, k + over - 1)
  end
end
local function addAll(key, from)
  local args = {}
  for i = from, #ARGV do
    args[#args + 1] = 0
    args[#args + 1] = ARGV[i]
    if #args >= 1000 then redis.call('ZADD', key, unpack(args)); args = {} end
  end
  if #args > 0 then redis.call('ZADD', key, unpack(args)) end
end
`;

/** KEYS: feed. ARGV: max, ids… Adds only to a feed that exists (built or being built). */
const ADD = `${TRIM}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
addAll(KEYS[1], 2)
trim(KEYS[1], tonumber(ARGV[1]))
return 1`;

/** KEYS: feed. ARGV: token member, max, ttl seconds, ids… */
const FINISH = `${TRIM}
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], 0, '${BUILT}')
addAll(KEYS[1], 4)
trim(KEYS[1], tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1`;

/** KEYS: feed. ARGV: max (`+` or `(<id>`), limit, ttl seconds. Nil when not built. */
const PAGE = `
if not redis.call('ZSCORE', KEYS[1], '${BUILT}') then return false end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], '${IDS_MIN}', 'LIMIT', 0, ARGV[2])`;

type WithScripts = Redis & {
  feedAdd(key: string, max: number, ...ids: string[]): Promise<number>;
  feedFinish(key: string, token: string, max: number, ttl: number, ...ids: string[]): Promise<number>;
  feedPage(key: string, max: string, limit: number, ttl: number): Promise<string[] | null>;
};

export interface RedisFeedStoreOptions extends FeedStoreOptions {
  /** A feed not read or built for this long expires (a later read rebuilds it). */
  ttlSeconds: number;
}

export class RedisFeedStore implements FeedStore {
  readonly kind = 'redis' as const;
  private readonly r: WithScripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly o: RedisFeedStoreOptions,
  ) {
    redis.defineCommand('feedAdd', { numberOfKeys: 1, lua: ADD });
    redis.defineCommand('feedFinish', { numberOfKeys: 1, lua: FINISH });
    redis.defineCommand('feedPage', { numberOfKeys: 1, lua: PAGE });
    this.r = redis as WithScripts;
  }

  /** The key of a reader's feed (tests delete them to simulate a lost cache). */
  key(reader: string): string {
    return `${this.prefix}:feed:${reader}`;
  }

  async page(
    reader: string,
    opts: { before?: string | undefined; limit: number },
  ): Promise<string[] | undefined> {
    const max = opts.before === undefined ? '+' : `(${opts.before}`;
    const ids = await this.r.feedPage(this.key(reader), max, opts.limit, this.o.ttlSeconds);
    return ids ?? undefined;
  }

  async add(entries: readonly FeedEntry[]): Promise<void> {
    const p = this.r.pipeline() as unknown as WithScripts & { exec(): Promise<unknown> };
    let n = 0;
    for (const e of entries) {
      if (e.ids.length === 0) continue;
      void p.feedAdd(this.key(e.reader), this.o.maxItems, ...e.ids);
      n++;
    }
    if (n > 0) throwFirst(await p.exec());
  }

  async remove(entries: readonly FeedEntry[]): Promise<void> {
    const p = this.r.pipeline();
    let n = 0;
    for (const e of entries) {
      if (e.ids.length === 0) continue;
      p.zrem(this.key(e.reader), ...e.ids);
      n++;
    }
    if (n > 0) throwFirst(await p.exec());
  }

  async beginBuild(reader: string): Promise<string> {
    const token = randomUUID();
    const key = this.key(reader);
    throwFirst(await this.r.multi().zadd(key, 0, `!b:${token}`).expire(key, this.o.ttlSeconds).exec());
    return token;
  }

  async finishBuild(reader: string, token: string, ids: readonly string[]): Promise<boolean> {
    const done = await this.r.feedFinish(
      this.key(reader),
      `!b:${token}`,
      this.o.maxItems,
      this.o.ttlSeconds,
      ...ids,
    );
    return done === 1;
  }

  async drop(readers: readonly string[]): Promise<void> {
    if (readers.length === 0) return;
    const p = this.r.pipeline();
    for (const r of readers) p.del(this.key(r));
    throwFirst(await p.exec());
  }

  /** The connection is the node's: it closes it. */
  async close(): Promise<void> {}
}

function throwFirst(results: [Error | null, unknown][] | null): void {
  for (const [err] of results ?? []) if (err) throw err;
}
