import { type TSchema, Type } from '@sinclair/typebox';
import { UserSummary } from './graph.js';
import { Post } from './posts.js';

/**
 * The `search` capability's methods (served by `server/src/capabilities/search/`):
 * hashtag pages, caption search and user search. Each asks every database
 * (posts and users are partitioned by their owner) within a time budget and
 * merges what answered: a database that is late or failing leaves its share
 * out and the answer says `partial: true`, it is never an error.
 *
 * Only what the caller may see is found: posts of private accounts by their
 * active followers (and the author), nothing across a block either way,
 * nothing deleted, no deleted account.
 */

/** Longest caption-search query, in UTF-16 code units. */
export const MAX_SEARCH_QUERY_LENGTH = 100;
/** Longest user-search query (a display name is at most 64). */
export const MAX_USER_QUERY_LENGTH = 64;
/** Longest hashtag a tag page takes (without `#`). */
export const MAX_TAG_LENGTH = 100;

const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 50 }));
const Cursor = Type.Optional(Type.String({ minLength: 1, maxLength: 200 }));
const NextCursor = Type.Union([Type.String(), Type.Null()]);
/** True when a database did not answer within the budget: its share is missing from this page. */
const Partial = Type.Boolean();

/** A page of posts found across the databases. */
export const FoundPosts = Type.Object({ items: Type.Array(Post), nextCursor: NextCursor, partial: Partial });

/** A user found by name: a `UserSummary` and whether the caller follows them (these come first). */
export const FoundUser = Type.Object({ ...UserSummary.properties, following: Type.Boolean() });

export const SearchMethods = {
  /**
   * A hashtag's page: its posts newest first (`sort: 'recent'`, the
   * default) or most liked first (`'top'`, ties newest first), `limit`
   * (1–50, default 20) at a time, hydrated. `tag` is matched without
   * regard to case, with or without its `#`; it must be Unicode letters,
   * digits or `_` (`bad_request` otherwise). `GET /v1/tags/{tag}/posts`.
   */
  'search.tagPosts': {
    params: Type.Object(
      {
        tag: Type.String({ minLength: 1, maxLength: MAX_TAG_LENGTH + 1 }),
        sort: Type.Optional(Type.Union([Type.Literal('recent'), Type.Literal('top')])),
        limit: Limit,
        cursor: Cursor,
      },
      { additionalProperties: false },
    ),
    result: Type.Object({
      /** The tag as matched: lower-cased, without `#`. */
      tag: Type.String(),
      items: Type.Array(Post),
      nextCursor: NextCursor,
      partial: Partial,
    }),
    idempotent: true,
  },
  /**
   * Posts whose caption holds every word of `q` (full-text, any case, whole
   * words, no stemming: PostgreSQL's `simple` configuration), newest first.
   * `q` must hold a letter or digit (`bad_request`). `GET /v1/search/posts`.
   */
  'search.posts': {
    params: Type.Object(
      {
        q: Type.String({ minLength: 1, maxLength: MAX_SEARCH_QUERY_LENGTH }),
        limit: Limit,
        cursor: Cursor,
      },
      { additionalProperties: false },
    ),
    result: FoundPosts,
    idempotent: true,
  },
  /**
   * Users whose username or display name starts with `q` (any case; a
   * leading `@` is dropped): the people the caller follows first, then
   * everyone else, each group in the order of the matching name (code-point
   * order). Users the caller blocks or is blocked by are left out; private
   * accounts are found. `GET /v1/search/users`.
   */
  'search.users': {
    params: Type.Object(
      {
        q: Type.String({ minLength: 1, maxLength: MAX_USER_QUERY_LENGTH + 1 }),
        limit: Limit,
        cursor: Cursor,
      },
      { additionalProperties: false },
    ),
    result: Type.Object({ items: Type.Array(FoundUser), nextCursor: NextCursor, partial: Partial }),
    idempotent: true,
  },
} as const satisfies Record<`search.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;
