import { defineCapability, defineOperation } from '../operation.js';
import { nearPosts } from './near-posts.js';
import { placesMigrations } from './places-table.js';

/**
 * The `places` capability: posts near a point, newest first, from the
 * place each post stores (the classic proximity design: geohash cells and
 * their neighbours over an index, no extra service). Schemas:
 * `protocol/src/methods/places.ts`. Cells: `cells.ts` (ngeohash); the
 * stored geohash and its indexes: `places-table.ts`; the query across every
 * database within SEARCH_BUDGET_MS, partial when one is late, privacy on the
 * author's side and hydration as feed pages: the search capability's
 * `gather.ts` and `visible-sql.ts`.
 */
export const places = defineCapability({
  name: 'places',
  description: 'Posts near a point, newest first, across every database.',
  migrations: placesMigrations,
  operations: [
    defineOperation({
      method: 'places.posts',
      summary: 'Posts within radius metres of (lat, lon), newest first, across every database.',
      http: { method: 'GET', path: '/v1/places/posts' },
      auth: 'user',
      handler: nearPosts,
    }),
  ],
});
