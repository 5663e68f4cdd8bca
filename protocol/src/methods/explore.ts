import { type TSchema, Type } from '@sinclair/typebox';
import { Post } from './posts.js';
import { RankSource } from './trending.js';

/**
 * The `explore` capability's methods (served by
 * `server/src/capabilities/explore/`): posts the caller has not seen,
 * liked by people who like what they like, mixed with trending posts.
 */

/** One explore item: the post, and which source put it there. */
export const ExploreItem = Type.Object({ post: Post, source: RankSource });

export const ExploreMethods = {
  /**
   * A page of explore, `limit` (1–50, default 20) at a time, hydrated as the
   * feed is. Items come from the caller's recommendations (`personal`), with
   * every few a `trending` one; where either is missing, failed or ran out
   * of time, `popular` posts of the last day take its place. Left out: the
   * caller's own posts, posts they like, posts explore showed them recently,
   * posts across a block either way, and posts they may not see. A page may
   * be short while `nextCursor` is set; null at the end. A read without
   * `cursor` starts again, without what was shown. A malformed cursor is
   * `invalid_cursor`.
   */
  'explore.get': {
    params: Type.Object(
      {
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
      },
      { additionalProperties: false },
    ),
    result: Type.Object({
      items: Type.Array(ExploreItem),
      nextCursor: Type.Union([Type.String(), Type.Null()]),
    }),
    idempotent: true,
  },
} as const satisfies Record<`explore.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;
