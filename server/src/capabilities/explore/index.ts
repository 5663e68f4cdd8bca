import { defineCapability, defineOperation } from '../operation.js';
import { exploreParts } from './parts.js';
import { readExplore } from './read.js';

export type { ExploreStore, Picks } from './explore-store.js';

/**
 * The `explore` capability: posts liked by people who like what I like (a
 * collaborative filter computed in the background per user who opens
 * explore: `picks.ts`, `jobs.ts`; kept in the `ExploreStore`), mixed with
 * trending posts (`mix.ts`), without what I have seen: my own posts, posts
 * I like, posts explore showed me recently, posts across a block, posts I
 * may not see. Every part falls back to trending's popular list when it
 * fails, is late or is not computed yet (docs/architecture.md "Trending
 * and explore"). Schemas: `protocol/src/methods/explore.ts`.
 */
export const explore = defineCapability({
  name: 'explore',
  description:
    'Explore: posts liked by people who like what you like, mixed with trending, without what you have seen.',
  operations: [
    defineOperation({
      method: 'explore.get',
      summary:
        'A page of explore: recommendations mixed with trending posts (each item says its source), hydrated, without what the caller has seen.',
      http: { method: 'GET', path: '/v1/explore' },
      auth: 'user',
      handler: (ctx, params) => readExplore(ctx, exploreParts(ctx), ctx.caller.userId, params),
    }),
  ],
  async start(ports) {
    const { jobs } = exploreParts(ports);
    return { stop: () => jobs.stop() };
  },
  /** Forgets the account's recommendations and shown posts. */
  async onUserDeleted(ports, userId) {
    await ports.explore.drop([userId]);
  },
});
