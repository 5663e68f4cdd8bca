/**
 * The explore store port: per user, the recommendations the background
 * computation made (`Picks`) and the posts explore showed them recently.
 * Adapters: `RedisExploreStore` (a string and a sorted set per user,
 * `server/src/adapters/`) and `MemoryExploreStore` (the embedded default,
 * least recently used users forgotten); `node-stores.ts` chooses. Both
 * pass `exploreStoreContract`.
 *
 * Contract:
 * - `read` answers both at once (one round trip): `picks` undefined when
 *   never computed, expired (`picksTtlMs` after `computedAt`… as stored) or
 *   dropped — an empty list is a computed answer, not a missing one; `shown`
 *   holds the ids shown within `shownTtlMs` before `now`.
 * - `putPicks` replaces the user's picks whole.
 * - `markShown` adds ids shown at `now`; the user keeps at most `shownMax`
 *   (the most recently shown; older ones are forgotten first).
 * - `drop` forgets users entirely.
 */
export interface ExploreStore {
  readonly kind: 'redis' | 'memory';
  read(user: string, now: number): Promise<{ picks: Picks | undefined; shown: Set<string> }>;
  putPicks(user: string, picks: Picks): Promise<void>;
  markShown(user: string, ids: readonly string[], now: number): Promise<void>;
  drop(users: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** A user's recommendations: post ids, best first, and when they were computed (ms). */
export interface Picks {
  computedAt: number;
  ids: string[];
}

export interface ExploreStoreOptions {
  /** Picks expire this long after they were stored. */
  picksTtlMs: number;
  /** A shown post is remembered this long. */
  shownTtlMs: number;
  /** Shown posts remembered per user at most. */
  shownMax: number;
}
