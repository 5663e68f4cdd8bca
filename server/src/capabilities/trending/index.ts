import { defineCapability, defineOperation } from '../operation.js';
import { trendingParts } from './parts.js';
import { readTrending } from './read.js';

export { TRENDING_POOL, type TrendingParts, trendingParts } from './parts.js';
export { minIdAt, type PopularList } from './popular.js';
export type { Ranked, TrendingStore } from './trending-store.js';

/** How long a stopping node waits for its last write of score changes. */
const LAST_FLUSH_MS = 1000;

/**
 * The `trending` capability: the posts and hashtags with the most recent
 * engagement (docs/architecture.md "Trending and explore"). Each node sums
 * the likes and comments it commits (`tally.ts`, from the domain events)
 * into decayed scores (`decay.ts`) and writes them every TRENDING_FLUSH_MS
 * into two bounded sorted sets shared by the cluster (`TrendingStore`:
 * Redis, or memory on one node). Reads take the top from a per-node cache
 * (`reader.ts`) within a time budget (`cache-guard.ts`) and fall back to the
 * popular posts of the last day (`popular.ts`) whenever the cache fails,
 * is late, or holds nothing yet. Schemas: `protocol/src/methods/trending.ts`.
 */
export const trending = defineCapability({
  name: 'trending',
  description:
    'Trending posts and hashtags: likes and comments with time decay; popular posts as the fallback.',
  operations: [
    defineOperation({
      method: 'trending.get',
      summary:
        'A page of trending posts (highest decayed score first, hydrated) and, on the first page, the trending hashtags; says its source.',
      http: { method: 'GET', path: '/v1/trending' },
      auth: 'user',
      handler: (ctx, params) => readTrending(ctx, trendingParts(ctx), ctx.caller.userId, params),
    }),
  ],
  async start(ports) {
    const { tally, popular } = trendingParts(ports);
    ports.events.on('likes.changed', (e) => {
      for (const l of e.liked) tally.like(e.postId, l.at);
      if (e.unliked.length > 0) {
        const now = ports.now();
        for (const _ of e.unliked) tally.unlike(e.postId, now);
      }
    });
    ports.events.on('comment.created', (e) => tally.comment(e.postId, e.createdAt));
    ports.events.on('comment.deleted', (e) => tally.uncomment(e.postId, ports.now()));
    ports.events.on('post.deleted', (e) => tally.deleted(e.postId));
    const t = ports.config.trending;
    const timer = setInterval(() => void tally.flush(), t.flushMs);
    timer.unref();
    // The fallback is gathered before the first reader needs it, and kept fresh in the background.
    void popular.refresh();
    const popularTimer = setInterval(
      () => popular.keepFresh(),
      Math.max(100, Math.min(t.popularCacheMs, 1000)),
    );
    popularTimer.unref();
    return {
      async stop() {
        clearInterval(timer);
        clearInterval(popularTimer);
        let t: NodeJS.Timeout | undefined;
        await Promise.race([tally.flush(), new Promise((r) => (t = setTimeout(r, LAST_FLUSH_MS)))]);
        clearTimeout(t);
      },
    };
  },
});
