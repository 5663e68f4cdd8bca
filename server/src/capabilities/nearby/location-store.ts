/**
 * The location store port: where the fixes of users who share their
 * location live, indexed by geohash cell, with the two things a list needs
 * beside them (each user's sharing state and mutual-friend set) cached next
 * to them, so one list is two round trips. Adapters:
 * `RedisLocationStore` (`server/src/adapters/redis-location-store.ts`,
 * shared by the cluster) and `MemoryLocationStore` (one node); `node.ts`
 * chooses. Both pass `locationStoreContract`.
 *
 * Everything here is a cache of something else or expires by itself: the
 * sharing setting and the friend sets are re-read from Postgres when
 * missing (`undefined` / `'unknown'` says so), and fixes expire. A lost
 * store loses the fixes of the last TTL, which the next updates restore.
 *
 * Contract:
 * - **Sharing is fenced by version.** `setSharing` applies only a version
 *   above the one held (or when none is held), so a stale restore from
 *   Postgres never undoes a newer change. Turning sharing off removes the
 *   user's fix, from its cells too, in the same step.
 * - `put` stores the fix only while the store holds sharing `on` for the
 *   user ('off' and 'unknown' otherwise, nothing stored), atomically with
 *   that check: a fix never lands after the `off` that should remove it.
 *   The fix expires `ttlMs` after it was stored; it is indexed under its
 *   cell at each of `INDEX_PRECISIONS` (prefixes of `fix.cell`), and leaves
 *   the cells of the fix it replaces.
 * - `candidates` answers the live fixes of the user's friends (the held
 *   friend set) — all of them, or only those in `cells` when given; the
 *   caller filters by distance. It reads whichever is smaller: the people
 *   in those cells, or the friends (`plan`, `scanned` say which and how
 *   many it looked at). `undefined` when no friend set is held.
 * - Expired fixes are never answered (by `me` or `candidates`).
 */
export interface LocationStore {
  readonly kind: 'redis' | 'memory';
  /** The user's sharing state (undefined: not held), live fix, and whether their friend set is held. */
  me(userId: string, now: number): Promise<MyEntry>;
  setSharing(userId: string, sharing: Sharing): Promise<void>;
  put(fix: StoredFix, ttlMs: number): Promise<'ok' | 'off' | 'unknown'>;
  /**
   * Holds `friendIds` as the user's friend set for `ttlMs` (an empty set is
   * held as such) — unless the set was dropped since `me` answered
   * `friendsGen` (a follow changed while the graph was read): then nothing
   * is stored and `false` says so.
   */
  setFriends(
    userId: string,
    friendIds: readonly string[],
    ttlMs: number,
    friendsGen: number,
  ): Promise<boolean>;
  /** Forgets the friend sets of these users (a follow or block between them changed), fencing reads in flight. */
  dropFriends(userIds: readonly string[]): Promise<void>;
  candidates(
    userId: string,
    cells: readonly string[] | undefined,
    now: number,
  ): Promise<Candidates | undefined>;
  /** Removes everything of the user (a deleted account). */
  forget(userId: string): Promise<void>;
  close(): Promise<void>;
}

/** A user's sharing setting as the store holds it: `version` orders changes (Postgres counts them). */
export interface Sharing {
  on: boolean;
  version: number;
}

/** A location a user sent, as stored. */
export interface Fix {
  userId: string;
  lat: number;
  lon: number;
  /** Metres, as the device reported; null if it did not. */
  accuracy: number | null;
  /** When the server received it (ms since the epoch). */
  at: number;
}

/** A fix with its cell at `FIX_PRECISION` (`cellOf`). */
export interface StoredFix extends Fix {
  cell: string;
}

export interface MyEntry {
  sharing: Sharing | undefined;
  fix: Fix | undefined;
  friendsHeld: boolean;
  /** How many times the user's friend set was dropped (lately): `setFriends` takes it back. */
  friendsGen: number;
}

export interface Candidates {
  fixes: Fix[];
  /** What was read: the people in the cells, or the friends. */
  plan: 'cells' | 'friends';
  /** How many entries were looked at (cell members, or friends). */
  scanned: number;
}

/** A fix as one string (the Redis adapter's): `lat|lon|accuracy|at|cell|expiresAt`. */
export function encodeFix(f: StoredFix, expiresAt: number): string {
  return `${f.lat}|${f.lon}|${f.accuracy ?? ''}|${f.at}|${f.cell}|${expiresAt}`;
}

export function decodeFix(userId: string, text: string): { fix: Fix; expiresAt: number } {
  const [lat, lon, acc, at, , expiresAt] = text.split('|');
  return {
    fix: { userId, lat: Number(lat), lon: Number(lon), accuracy: acc ? Number(acc) : null, at: Number(at) },
    expiresAt: Number(expiresAt),
  };
}
