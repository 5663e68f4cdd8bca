import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../ids.js';
import { Post } from './posts.js';

/**
 * The `feed` capability's methods (served by `server/src/capabilities/feed/`):
 * the reader's home feed — posts of the people they follow, and their own,
 * newest first — and the live events that keep an open feed screen current.
 */

const Id = Type.String({ pattern: ID_PATTERN });

export const FeedMethods = {
  /**
   * A page of the caller's feed, newest first, `limit` (1–50, default 20) at
   * a time, hydrated. `nextCursor` (opaque) asks the page after this one and
   * is null at the end; a page keeps its place while new posts arrive (the
   * next page holds only posts strictly older than this page's last). A page
   * may hold fewer than `limit` items (posts deleted or hidden since they
   * entered the feed are left out) while `nextCursor` is still set: keep
   * paging. `liveAuthors` (first page only: no `cursor`) lists followed
   * authors above the fan-out threshold, whose new posts go live on
   * `author:<id>:posts` instead of the caller's `user:<id>:feed`: subscribe
   * to each. A malformed cursor is `invalid_cursor`.
   */
  'feed.get': {
    params: Type.Object(
      {
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    result: Type.Object({
      items: Type.Array(Post),
      nextCursor: Type.Union([Type.String(), Type.Null()]),
      liveAuthors: Type.Array(Id),
    }),
    idempotent: true,
  },
} as const satisfies Record<`feed.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;

/**
 * The data of an event on `user:<id>:feed` or `author:<id>:posts`: a new
 * post (hydrated as any follower sees it: no likes or comments yet,
 * `likedByMe` false), or the id of a post that is gone (deleted, or its
 * author's account deleted).
 */
export const FeedEvent = Type.Union([
  Type.Object({ type: Type.Literal('post'), post: Post }),
  Type.Object({ type: Type.Literal('post.deleted'), postId: Id, authorId: Id }),
]);
export type FeedEvent = Static<typeof FeedEvent>;
