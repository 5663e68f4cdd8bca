import { type TSchema, Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../ids.js';
import { UserSummary } from './graph.js';

/**
 * The `likes` capability's methods (served by `server/src/capabilities/likes/`):
 * like and unlike a post, and who liked it.
 *
 * A like is a membership (user, post): liking a post you like already, or
 * unliking one you do not, changes nothing and answers the same, so both are
 * idempotent by nature and retried at any time without an idempotency key.
 * Only a post the caller may see can be liked, unliked or listed: a missing,
 * deleted or hidden one (private author not followed, a block either way) is
 * `not_found`, as `posts.get` answers, and changes nothing.
 */

const Id = Type.String({ pattern: ID_PATTERN });
const PostParams = Type.Object({ id: Id }, { additionalProperties: false });

/**
 * A post's likes after a like or unlike committed: whether the caller likes
 * it now, and its count. When the same user's like and unlike reach the
 * post together, the last one sent wins and each of them answers that state.
 */
export const LikeResult = Type.Object({
  postId: Id,
  liked: Type.Boolean(),
  likeCount: Type.Integer(),
});

/** Someone who liked a post, as the list shows them. */
export const Liker = Type.Object({
  ...UserSummary.properties,
  /** ms since the Unix epoch: when the like was stored. */
  likedAt: Type.Number(),
  /** The caller follows them (these come first). */
  following: Type.Boolean(),
});

export const LikesMethods = {
  /** Likes the post (a no-op if the caller likes it already). `PUT /v1/posts/{id}/like`. */
  'likes.like': { params: PostParams, result: LikeResult, idempotent: true },
  /** Takes the caller's like back (a no-op without one). `DELETE /v1/posts/{id}/like`. */
  'likes.unlike': { params: PostParams, result: LikeResult, idempotent: true },
  /**
   * Who liked the post: people the caller follows first, then everyone else,
   * each group newest like first; `limit` (1–100, default 20) at a time,
   * `nextCursor` (opaque) for the next page, null at the end. Likers the
   * caller blocks or is blocked by, and deleted accounts, are left out (a
   * page may then hold fewer than `limit` while `nextCursor` is set).
   * `GET /v1/posts/{id}/likes`. A malformed cursor is `invalid_cursor`.
   */
  'likes.list': {
    params: Type.Object(
      {
        id: Id,
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    result: Type.Object({ items: Type.Array(Liker), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
    idempotent: true,
  },
} as const satisfies Record<`likes.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;
