/**
 * The feed store port: per reader, the newest post ids written into that
 * reader's feed by fan-out on write (authors under the threshold). Ids are
 * Shutter ids (UUIDv7 text), so their text order is their time order: a feed
 * is a set of ids read newest first. Adapters: `RedisFeedStore` (a sorted set
 * per reader, `server/src/adapters/redis-feed-store.ts`) and
 * `MemoryFeedStore` (the embedded default); `node.ts` chooses. Both pass
 * `feedStoreContract`.
 *
 * A feed is a cache of what Postgres can recompute, so the store tells a
 * **missing** feed (never built, dropped, evicted, or its Redis flushed) from
 * an **empty** one: `page` answers `undefined` for a missing feed, and the
 * reader rebuilds it.
 *
 * Building is two steps so that a rebuild racing with fan-out loses nothing:
 * `beginBuild` marks the feed as being built (from then on `add` lands in
 * it), the builder reads Postgres, and `finishBuild` merges its snapshot in
 * and marks the feed built — unless the feed was dropped in between (a
 * follow changed it), in which case nothing is stored and `false` says so.
 * Two builds at once both land (their snapshots are merged), which is
 * harmless: each is a correct snapshot.
 *
 * Contract:
 * - `add` writes ids only into feeds that exist (built or being built), keeps
 *   the newest `maxItems` of each, and is idempotent (an id added twice is
 *   there once). `remove` removes ids where present. Both take many feeds in
 *   one round trip.
 * - `page` answers ids strictly older than `before` (when given), newest
 *   first, at most `limit`; `undefined` unless the feed is built.
 * - `drop` removes feeds entirely (they are missing afterwards).
 */
export interface FeedStore {
  readonly kind: 'redis' | 'memory';
  page(reader: string, opts: { before?: string | undefined; limit: number }): Promise<string[] | undefined>;
  add(entries: readonly FeedEntry[]): Promise<void>;
  remove(entries: readonly FeedEntry[]): Promise<void>;
  /** Marks the feed as being built; answers the token `finishBuild` needs. */
  beginBuild(reader: string): Promise<string>;
  /** Merges `ids` into the feed and marks it built; false (nothing stored) when it was dropped since `beginBuild`. */
  finishBuild(reader: string, token: string, ids: readonly string[]): Promise<boolean>;
  drop(readers: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Ids to add to (or remove from) one reader's feed. */
export interface FeedEntry {
  reader: string;
  ids: readonly string[];
}

export interface FeedStoreOptions {
  /** Ids kept per feed, newest first (DESIGN: 1 000). */
  maxItems: number;
}
