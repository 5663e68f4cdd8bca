import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Post } from './posts.js';

/**
 * The `trending` capability's methods (served by
 * `server/src/capabilities/trending/`): the posts and hashtags with the most
 * recent engagement (likes and comments, each worth less the older it is).
 */

/**
 * Where an answer (or an item) came from: `trending` the decayed scores kept
 * in the cache; `personal` (explore) the caller's own recommendations;
 * `popular` the fallback, the most engaged posts of the last day, served
 * when the other source failed, ran out of time, or has nothing yet.
 */
export const RankSource = Type.Union([
  Type.Literal('personal'),
  Type.Literal('trending'),
  Type.Literal('popular'),
]);
export type RankSource = Static<typeof RankSource>;

/** A trending hashtag: lower-cased, without `#`, and its score (only its order means something). */
export const TrendingTag = Type.Object({ tag: Type.String(), score: Type.Number() });

export const TrendingMethods = {
  /**
   * A page of trending posts, highest score first, `limit` (1–50, default
   * 20) at a time, hydrated as the feed is; posts the caller may not see are
   * left out, so a page may be short while `nextCursor` is set. `hashtags`
   * (first page only, else empty): the top 10 trending hashtags. `source`
   * says what served the page: `trending`, or `popular` when the cache
   * failed, was late, or holds nothing yet. `nextCursor` (opaque) continues
   * in the same source while it works; null at the end. A malformed cursor
   * is `invalid_cursor`.
   */
  'trending.get': {
    params: Type.Object(
      {
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
      },
      { additionalProperties: false },
    ),
    result: Type.Object({
      posts: Type.Array(Post),
      hashtags: Type.Array(TrendingTag),
      source: Type.Union([Type.Literal('trending'), Type.Literal('popular')]),
      nextCursor: Type.Union([Type.String(), Type.Null()]),
    }),
    idempotent: true,
  },
} as const satisfies Record<`trending.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;
