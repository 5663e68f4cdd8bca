import { type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../ids.js';

/**
 * The `graph` capability's methods (served by `server/src/capabilities/graph/`):
 * follow and unfollow, follow requests of private accounts, blocks, and the
 * followers and following lists.
 *
 * Every write here is idempotent (a retry is a no-op), so none needs an
 * idempotency key. Lists are newest edge first, cursor-paginated: `cursor`
 * is the opaque `nextCursor` of the previous page (`invalid_cursor` if it is
 * not one); `nextCursor` null means the end. A page may hold fewer than
 * `limit` items before the end (entries the reader may not see are left out).
 */

const UserId = Type.String({ pattern: ID_PATTERN });
/** The user the call is about, in the route's path. */
const Target = { id: UserId };

/** The state of a follow edge: `active`, `pending` (a request to a private account), or `none`. */
export const FollowState = Type.Union([
  Type.Literal('active'),
  Type.Literal('pending'),
  Type.Literal('none'),
]);

/** A user as a list shows them. */
export const UserSummary = Type.Object({
  id: UserId,
  username: Type.String(),
  displayName: Type.String(),
  /** A ready media item of the user's (`GET /v1/media/{id}` for its variants), or null. */
  avatarMediaId: Type.Union([Type.String(), Type.Null()]),
  private: Type.Boolean(),
});

const Page = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 128 })),
};

/** A page of users, newest edge first. */
export const UserPage = Type.Object({
  items: Type.Array(UserSummary),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

/** Where the caller now stands with `userId` after a follow-graph write. */
const EdgeResult = Type.Object({ userId: UserId, state: FollowState });

const params = <P extends TProperties>(props: P) => Type.Object(props, { additionalProperties: false });

export const GraphMethods = {
  /**
   * Follows the user: `active`, or `pending` when the account is private
   * (a request it approves or denies). `cannot_follow_self`, `not_found`,
   * `blocked` (either blocks the other). `PUT /v1/users/{id}/follow`.
   */
  'graph.follow': { params: params(Target), result: EdgeResult, idempotent: true },
  /** Unfollows the user, or cancels a pending request: answers `none`. `DELETE /v1/users/{id}/follow`. */
  'graph.unfollow': { params: params(Target), result: EdgeResult, idempotent: true },
  /**
   * The user's followers (`forbidden` for a private account unless you are it or
   * an active follower; `blocked` across a block). `GET /v1/users/{id}/followers`.
   */
  'graph.followers': { params: params({ ...Target, ...Page }), result: UserPage, idempotent: true },
  /** Whom the user follows; same rules as `graph.followers`. `GET /v1/users/{id}/following`. */
  'graph.following': { params: params({ ...Target, ...Page }), result: UserPage, idempotent: true },
  /** Pending follow requests to me, newest first. `GET /v1/me/follow-requests`. */
  'graph.requests': { params: params(Page), result: UserPage, idempotent: true },
  /**
   * Approves the user's request: they follow me (`active`). `not_found` if there
   * is no request (an approved one answers `active` again).
   * `POST /v1/me/follow-requests/{id}/approve`.
   */
  'graph.approve': { params: params(Target), result: EdgeResult, idempotent: true },
  /** Denies the user's pending request (`none`; an active follower stays: use `graph.removeFollower`). */
  'graph.deny': { params: params(Target), result: EdgeResult, idempotent: true },
  /** Removes the user from my followers (`none`), or their pending request. `DELETE /v1/me/followers/{id}`. */
  'graph.removeFollower': { params: params(Target), result: EdgeResult, idempotent: true },
  /**
   * Blocks the user: follow edges both ways and requests are removed; neither
   * can follow the other, see the other's posts, or appear in the other's lists.
   * `PUT /v1/users/{id}/block`.
   */
  'graph.block': {
    params: params(Target),
    result: Type.Object({ userId: UserId, blocking: Type.Boolean() }),
    idempotent: true,
  },
  /** Unblocks the user (follow edges are not restored). `DELETE /v1/users/{id}/block`. */
  'graph.unblock': {
    params: params(Target),
    result: Type.Object({ userId: UserId, blocking: Type.Boolean() }),
    idempotent: true,
  },
  /** How I stand with the user, both ways. `GET /v1/users/{id}/relation`. */
  'graph.relation': {
    params: params(Target),
    result: Type.Object({
      userId: UserId,
      /** me → them */
      following: FollowState,
      /** them → me */
      followedBy: FollowState,
      blocking: Type.Boolean(),
      blockedBy: Type.Boolean(),
    }),
    idempotent: true,
  },
} as const satisfies Record<`graph.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;
