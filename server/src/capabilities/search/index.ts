import { defineCapability, defineOperation } from '../operation.js';
import { captionPosts } from './caption-posts.js';
import { searchMigrations } from './search-tables.js';
import { tagPosts } from './tag-posts.js';
import { searchUsers } from './users.js';

export { type GatheredPage, gatherPage, gatherPosts, type Keyed, type ListSpec } from './gather.js';

/**
 * The `search` capability: hashtag pages (recent and top), caption
 * full-text search and user search by name prefix. Schemas:
 * `protocol/src/methods/search.ts`. Posts and users are partitioned by
 * their owner, so every list asks each database at once for its share
 * after the cursor, within SEARCH_BUDGET_MS (`gather.ts`, over
 * `storage/scatter.ts`), and merges; a late database makes the answer
 * `partial`, never an error. Each database filters by the privacy rule on
 * the author's side (`visible-sql.ts`) before its LIMIT, and pages of
 * posts are hydrated as feed pages are. The indexes each list walks:
 * `search-tables.ts`.
 */
export const search = defineCapability({
  name: 'search',
  description: 'Hashtag pages, caption full-text search and user search, across every database.',
  migrations: searchMigrations,
  operations: [
    defineOperation({
      method: 'search.tagPosts',
      summary: "A hashtag's posts, newest first or most liked first, across every database.",
      http: { method: 'GET', path: '/v1/tags/{tag}/posts' },
      auth: 'user',
      handler: tagPosts,
    }),
    defineOperation({
      method: 'search.posts',
      summary: 'Posts whose caption holds every word of q (full-text), newest first.',
      http: { method: 'GET', path: '/v1/search/posts' },
      auth: 'user',
      handler: captionPosts,
    }),
    defineOperation({
      method: 'search.users',
      summary: 'Users whose username or display name starts with q, people the caller follows first.',
      http: { method: 'GET', path: '/v1/search/users' },
      auth: 'user',
      handler: searchUsers,
    }),
  ],
});
