/**
 * The trending store port: two bounded sorted sets shared by the cluster,
 * `posts` (post ids) and `tags` (hashtags), each member with a score in
 * log form (`decay.ts`: the undecayed sum of its events, so the order never
 * needs rewriting as time passes). Adapters: `RedisTrendingStore` (one
 * sorted set per set, a Lua script per change, `server/src/adapters/`) and
 * `MemoryTrendingStore` (the embedded default); `node-stores.ts` chooses.
 * Both pass `trendingStoreContract`.
 *
 * Contract:
 * - `apply` changes many members of both sets in one round trip, each by
 *   `combine(current, add, sub)` (`decay.ts`): a member is added, moved, or
 *   removed when its sum vanishes; a change that only subtracts from an
 *   absent member does nothing. Then `removePosts` leave the posts set, and
 *   each set keeps its `max` highest members (the lowest, ties by the
 *   smallest member, are dropped).
 * - `top` answers members highest first (ties: the greater member first),
 *   strictly after `after` in that order when given, at most `limit`.
 * - Members are any non-empty strings; scores any finite numbers.
 */
export interface TrendingStore {
  readonly kind: 'redis' | 'memory';
  apply(batch: TrendingBatch, limits: { maxPosts: number; maxTags: number }): Promise<void>;
  top(set: TrendingSet, opts: { limit: number; after?: Ranked | undefined }): Promise<Ranked[]>;
  close(): Promise<void>;
}

export type TrendingSet = 'posts' | 'tags';

/** One member's change: `e^add` added and `e^sub` taken away (log form; `-Infinity` for none). */
export interface ScoreChange {
  member: string;
  add: number;
  sub: number;
}

export interface TrendingBatch {
  posts: readonly ScoreChange[];
  tags: readonly ScoreChange[];
  /** Posts that are gone (deleted): they leave the posts set. */
  removePosts: readonly string[];
}

/** A member and its stored score. */
export interface Ranked {
  member: string;
  score: number;
}

/** Whether `a` ranks before `b`: higher score, then the greater member. */
export function ranksBefore(a: Ranked, b: Ranked): boolean {
  return a.score > b.score || (a.score === b.score && a.member > b.member);
}
