import { combine } from './decay.js';
import {
  type Ranked,
  ranksBefore,
  type ScoreChange,
  type TrendingBatch,
  type TrendingSet,
  type TrendingStore,
} from './trending-store.js';

/**
 * The embedded trending store: both sets in this process (lost on restart,
 * as a flushed cache is). Each set is bounded by `apply`'s limits, so a
 * read sorts at most that many members; nodes reuse the top for
 * TRENDING_CACHE_MS, so reads are few.
 */
export class MemoryTrendingStore implements TrendingStore {
  readonly kind = 'memory' as const;
  private readonly sets: Record<TrendingSet, Map<string, number>> = { posts: new Map(), tags: new Map() };

  async apply(batch: TrendingBatch, limits: { maxPosts: number; maxTags: number }): Promise<void> {
    applyChanges(this.sets.posts, batch.posts);
    applyChanges(this.sets.tags, batch.tags);
    for (const id of batch.removePosts) this.sets.posts.delete(id);
    trim(this.sets.posts, limits.maxPosts);
    trim(this.sets.tags, limits.maxTags);
  }

  async top(set: TrendingSet, opts: { limit: number; after?: Ranked | undefined }): Promise<Ranked[]> {
    const after = opts.after;
    const all = sorted(this.sets[set]);
    const from = after ? all.findIndex((r) => ranksBefore(after, r)) : 0;
    return from < 0 ? [] : all.slice(from, from + opts.limit);
  }

  async close(): Promise<void> {
    this.sets.posts.clear();
    this.sets.tags.clear();
  }
}

function applyChanges(set: Map<string, number>, changes: readonly ScoreChange[]): void {
  for (const c of changes) {
    const next = combine(set.get(c.member), c.add, c.sub);
    if (next === undefined) set.delete(c.member);
    else set.set(c.member, next);
  }
}

/** Highest first, ties by the greater member first. */
function sorted(set: Map<string, number>): Ranked[] {
  return [...set]
    .map(([member, score]) => ({ member, score }))
    .sort((a, b) => (ranksBefore(a, b) ? -1 : ranksBefore(b, a) ? 1 : 0));
}

function trim(set: Map<string, number>, max: number): void {
  if (set.size <= max) return;
  for (const r of sorted(set).slice(max)) set.delete(r.member);
}
