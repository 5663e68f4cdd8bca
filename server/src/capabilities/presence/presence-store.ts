/** One user's presence as the store holds it. */
export interface StoredPresence {
  /** Some session is open, or the last one closed less than the grace ago. */
  online: boolean;
  /** The version of this state (`PresenceStore` contract); 0 for a user the store holds nothing of. */
  v: number;
}

/** A user the store settled offline: their grace ran out with no session open. */
export interface SettledUser {
  userId: string;
  v: number;
  /** When their last session closed (ms), or their dead node's last heartbeat. */
  lastSeen: number;
}

/** What `endNode` did. */
export interface EndedSessions {
  /** The node's heartbeat is newer than the `at` it was asked about: it is alive, nothing was done. */
  alive: boolean;
  /** Sessions ended by this call. */
  ended: number;
  /** Sessions of the node still in the store (call again while > 0). */
  left: number;
  /** The earliest settle deadline of the users it left without a session, if any. */
  deadline: number | undefined;
}

/** What the store holds, for metrics and for tests that look for leftovers. */
export interface PresenceCounts {
  sessions: number;
  /** Users in their grace period (no session, not settled yet). */
  leaving: number;
  nodes: number;
}

/**
 * Who is online, shared by every node: each user's open sessions and the
 * node each is on, the users in their grace period, and each node's last
 * heartbeat. Adapters: `MemoryPresenceStore` (one node, the embedded
 * default) and `RedisPresenceStore` (shared, REDIS_URL); both pass
 * `presenceStoreContract`.
 *
 * Contract:
 * - Every method is atomic: concurrent calls from any node never lose a
 *   session or settle a user twice.
 * - A user's state goes offline → online (`sessionOpened` of the first
 *   session; answers the new version), online → leaving (`sessionClosed` of
 *   the last; answers the settle deadline `now + graceMs`), leaving → online
 *   (a session opens in the grace: answers nothing, nobody hears of it), and
 *   leaving → offline (`settle` once the deadline passed: answered once, to
 *   one caller, with the version and last seen). Leaving counts as online.
 * - Versions grow: every version the store hands out is greater than every
 *   earlier one (about the store's clock in ms, plus one when two meet), so
 *   of two states of a user the higher version is the newer, whichever node
 *   published it first. An offline user's record is gone: `states` answers
 *   nothing (`v` 0) for them.
 * - `sessionOpened` / `sessionClosed` of a session the store already has /
 *   no longer has change nothing (a retry, a re-open after being reaped).
 * - A node heartbeats (`heartbeat`: answers whether the store knew it; a
 *   node it did not know, or that was reaped, opens its sessions again).
 *   A node whose heartbeat is older than a timeout is dead (`deadNodes`);
 *   `endNode` takes its sessions away in chunks, its users left without a
 *   session leaving from its last heartbeat, unless it heartbeat meanwhile.
 */
export interface PresenceStore {
  /** Session `session` of `userId` opened on `node`. Answers the user's new version when they were offline. */
  sessionOpened(userId: string, session: string, node: string, now: number): Promise<number | undefined>;
  /** The session closed. Answers the settle deadline when it was the user's last (they are leaving). */
  sessionClosed(
    userId: string,
    session: string,
    node: string,
    now: number,
    graceMs: number,
  ): Promise<number | undefined>;
  /** Settles at most `limit` leaving users whose deadline is ≤ `now` and who have no session: offline. */
  settle(now: number, limit: number): Promise<SettledUser[]>;
  /** `node` is alive at `now`. False when the store did not know it (new, or reaped as dead). */
  heartbeat(node: string, now: number): Promise<boolean>;
  /** Nodes whose last heartbeat is before `before`, with that heartbeat. */
  deadNodes(before: number): Promise<{ node: string; at: number }[]>;
  /**
   * Ends at most `limit` sessions of `node`, a node last heard of at `at`,
   * and forgets the node; a user left without a session is leaving, due at
   * `at + graceMs`. Does nothing (`alive`) if the node heartbeat after `at`.
   */
  endNode(node: string, at: number, graceMs: number, limit: number): Promise<EndedSessions>;
  /** The users of `userIds` the store holds (online or leaving); the others are offline. */
  states(userIds: readonly string[]): Promise<Map<string, StoredPresence>>;
  /** A new version of the user's state, unchanged otherwise (their visibility changed). */
  touch(userId: string, now: number): Promise<StoredPresence>;
  counts(): Promise<PresenceCounts>;
  close(): Promise<void>;
}

/** The next version after `last` at `now` (ms): the clock, or one more than the last when it is not ahead. */
export function nextVersion(last: number, now: number): number {
  return Math.max(Math.floor(now), last + 1);
}
