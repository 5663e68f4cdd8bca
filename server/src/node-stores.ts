import { Redis } from 'ioredis';
import { RedisExploreStore } from './adapters/redis-explore-store.js';
import { RedisFeedStore } from './adapters/redis-feed-store.js';
import { RedisLocationStore } from './adapters/redis-location-store.js';
import { RedisPresenceStore } from './adapters/redis-presence-store.js';
import { RedisRateLimiter } from './adapters/redis-rate-limiter.js';
import { RedisStreamLog } from './adapters/redis-stream-log.js';
import { RedisTrendingStore } from './adapters/redis-trending-store.js';
import type { ExploreStore } from './capabilities/explore/explore-store.js';
import { MemoryExploreStore } from './capabilities/explore/memory-explore-store.js';
import type { FeedStore } from './capabilities/feed/feed-store.js';
import { MemoryFeedStore } from './capabilities/feed/memory-feed-store.js';
import type { LocationStore } from './capabilities/nearby/location-store.js';
import { MemoryLocationStore } from './capabilities/nearby/memory-location-store.js';
import { MemoryPresenceStore } from './capabilities/presence/memory-presence-store.js';
import type { PresenceStore } from './capabilities/presence/presence-store.js';
import { MemoryTrendingStore } from './capabilities/trending/memory-trending-store.js';
import type { TrendingStore } from './capabilities/trending/trending-store.js';
import type { Config } from './config/index.js';
import { MemoryRateLimiter } from './limits/memory-rate-limiter.js';
import type { RateLimiter } from './limits/rate-limiter.js';
import { MemoryStreamLog } from './streams/memory-stream-log.js';
import type { StreamLog } from './streams/stream-log.js';

type Closer = () => Promise<void>;

/** The stores one Redis connection serves with REDIS_URL, and their in-process defaults without. */
export interface CacheStores {
  /** The node's Redis connection (REDIS_URL), for adapters that share it; undefined without. */
  redis: Redis | undefined;
  /** Each stream's bounded history. */
  streamLog: StreamLog;
  /** Each reader's stored feed of post ids. */
  feeds: FeedStore;
  /** Rate-limit buckets: shared by the cluster in Redis, else this node's own. */
  limiter: RateLimiter;
  /** Who is online on which node: shared by the cluster in Redis, else this node's own. */
  presence: PresenceStore;
  /** Nearby friends' fixes, sharing states and friend sets. */
  locations: LocationStore;
  /** The trending sets of posts and hashtags. */
  trending: TrendingStore;
  /** Explore's per-user recommendations and shown posts. */
  explore: ExploreStore;
}

/**
 * Opens the cache-backed stores: with REDIS_URL one connection serves the
 * stream history and the feeds (and whatever else takes `redis`); without,
 * each keeps its data in this process (rate limits then hold per node). `own` gets every closer, in order.
 * `historyOf` gives the stream history a kind's own shorter history (`streamHistories`).
 */
export async function openCacheStores(
  config: Config,
  own: (close: Closer) => void,
  historyOf?: (stream: string) => number | undefined,
): Promise<CacheStores> {
  const s = config.services;
  const g = config.gateway;
  const logOptions = {
    maxEvents: g.historySize,
    ttlSeconds: g.historyTtlSeconds,
    ...(historyOf ? { historyOf } : {}),
  };
  if (!s.redisUrl) {
    const streamLog = new MemoryStreamLog(logOptions);
    const feeds = new MemoryFeedStore({ maxItems: config.feed.maxItems, maxFeeds: config.feed.memoryFeeds });
    own(() => feeds.close());
    own(() => streamLog.close());
    const limiter = new MemoryRateLimiter({ maxKeys: config.limits.memoryKeys });
    own(() => limiter.close());
    // Expired fixes are swept about once a TTL (at least every second, at most every minute).
    const sweepMs = Math.max(1000, Math.min(60_000, config.nearby.locationTtlMs));
    const locations = new MemoryLocationStore(Date.now, sweepMs);
    own(() => locations.close());
    const trending = new MemoryTrendingStore();
    own(() => trending.close());
    const explore = new MemoryExploreStore({
      ...exploreOptions(config),
      maxUsers: config.explore.memoryUsers,
      now: Date.now,
    });
    own(() => explore.close());
    return {
      redis: undefined,
      streamLog,
      feeds,
      limiter,
      presence: new MemoryPresenceStore(),
      locations,
      trending,
      explore,
    };
  }
  const redis = new Redis(s.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    ...(s.redisCommandTimeoutMs > 0 ? { commandTimeout: s.redisCommandTimeoutMs } : {}),
  });
  own(async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  await redis.connect();
  const streamLog = new RedisStreamLog(redis, s.namespace, logOptions);
  const feeds = new RedisFeedStore(redis, s.namespace, {
    maxItems: config.feed.maxItems,
    ttlSeconds: config.feed.ttlSeconds,
  });
  own(() => feeds.close());
  own(() => streamLog.close());
  return {
    redis,
    streamLog,
    feeds,
    limiter: new RedisRateLimiter(redis, s.namespace),
    presence: new RedisPresenceStore(redis, s.namespace),
    locations: new RedisLocationStore(redis, s.namespace),
    trending: new RedisTrendingStore(redis, s.namespace),
    explore: new RedisExploreStore(redis, s.namespace, exploreOptions(config)),
  };
}

function exploreOptions(config: Config) {
  const e = config.explore;
  return { picksTtlMs: e.picksTtlSeconds * 1000, shownTtlMs: e.shownTtlSeconds * 1000, shownMax: e.shownMax };
}
