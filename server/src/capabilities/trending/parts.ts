import type { CapabilityPorts } from '../operation.js';
import { CacheGuard } from './cache-guard.js';
import { PopularPosts } from './popular.js';
import { TrendingReader } from './reader.js';
import { EngagementTally, postFacts } from './tally.js';

/** Posts of the trending top a node reads at once (trending's first pages, explore's trending share). */
export const TRENDING_POOL = 200;
/** Hashtags of the top a node reads. */
const TAG_POOL = 20;

/** What trending (and explore) keep per node besides the ports. */
export interface TrendingParts {
  /** Every cache call of the trending and explore paths goes through it (budget, back-off). */
  guard: CacheGuard;
  reader: TrendingReader;
  popular: PopularPosts;
  tally: EngagementTally;
}

/** Per node, keyed by its trending store. */
const nodes = new WeakMap<object, TrendingParts>();

export function trendingParts(ports: CapabilityPorts): TrendingParts {
  let p = nodes.get(ports.trending);
  if (!p) {
    const t = ports.config.trending;
    const guard = new CacheGuard({
      budgetMs: t.budgetMs,
      backoffMs: t.backoffMs,
      now: ports.now,
      log: ports.log,
    });
    p = {
      guard,
      reader: new TrendingReader(ports.trending, guard, {
        cacheMs: t.cacheMs,
        pool: TRENDING_POOL,
        tags: TAG_POOL,
        now: ports.now,
      }),
      popular: new PopularPosts(ports.db, {
        budgetMs: t.popularBudgetMs,
        waitMs: t.budgetMs,
        cacheMs: t.popularCacheMs,
        maxPosts: t.popularPosts,
        maxTags: TAG_POOL,
        likeWeight: t.likeWeight,
        commentWeight: t.commentWeight,
        now: ports.now,
        log: ports.log,
      }),
      tally: new EngagementTally((ids) => postFacts(ports.db, ids), ports.trending, {
        halfLifeMs: t.halfLifeSeconds * 1000,
        likeWeight: t.likeWeight,
        commentWeight: t.commentWeight,
        maxPosts: t.maxPosts,
        maxTags: t.maxTags,
        maxPending: t.maxPending,
        now: ports.now,
        log: ports.log,
      }),
    };
    nodes.set(ports.trending, p);
  }
  return p;
}
