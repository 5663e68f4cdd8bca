import { int } from './settings.js';

/** The hybrid feed (issue 9 §5–6). */
export const feedSettings = {
  fanoutThreshold: int(
    'FEED_FANOUT_THRESHOLD',
    10_000,
    1,
    1_000_000_000,
    "Authors with fewer followers than this have each new post written into every follower's feed (fan-out on write); posts of authors with at least this many are merged into their followers' feeds when read (fan-out on read) and go live on the author's stream instead of each follower's.",
  ),
  maxItems: int('FEED_MAX_ITEMS', 1000, 10, 100_000, "Post ids kept in each reader's feed, newest first."),
  ttlSeconds: int(
    'FEED_TTL_SECONDS',
    7 * 86_400,
    60,
    365 * 86_400,
    'With REDIS_URL: a feed neither read nor rebuilt for this long expires from Redis (its next read rebuilds it from Postgres).',
  ),
  memoryFeeds: int(
    'FEED_MEMORY_FEEDS',
    10_000,
    1,
    10_000_000,
    "Without REDIS_URL: feeds held in the node's memory; the least recently used beyond this are evicted (and rebuilt when read).",
  ),
  authorCacheMs: int(
    'FEED_AUTHOR_CACHE_MS',
    1000,
    0,
    60_000,
    "How long a node reuses a big author's newest post ids (fan-out on read) before asking the author's database again; 0 asks every read.",
  ),
  fanoutBatch: int(
    'FEED_FANOUT_BATCH',
    500,
    1,
    10_000,
    'Followers a fan-out job reads and writes per step (one graph page, one pipelined store write, their live events).',
  ),
};
