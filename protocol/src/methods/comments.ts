import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../ids.js';
import { PostAuthor } from './posts.js';

/**
 * The `comments` capability's methods (served by
 * `server/src/capabilities/comments/`): add, delete, a post's comments and a
 * comment's replies, cursor-paginated; and the events new and deleted
 * comments make on the post's stream (`post:<id>`).
 *
 * A comment's id is made by the client and carries its POST's logical shard
 * (`newId(shardOfId(postId))`), so a comment lives beside its post and any
 * id finds its database. A retried add with the same id is a no-op, so
 * every method here is idempotent.
 */

const Id = Type.String({ pattern: ID_PATTERN });

/** Longest comment, in UTF-16 code units (as a caption: an emoji may count 2). */
export const MAX_COMMENT_LENGTH = 2200;
/** Most distinct @mentions in one comment (more is `bad_request`: notification spam). */
export const MAX_COMMENT_MENTIONS = 20;
/** Replies shown with each comment of a `comments.list` page (oldest first); the rest through `repliesCursor`. */
export const REPLY_PREVIEW = 2;

/** An account a comment @mentions: its id and the username as written (lower-cased). */
export const CommentMention = Type.Object({ id: Id, username: Type.String() });

/** A comment, hydrated: what `comments.*` answer and the post stream carries. */
export const Comment = Type.Object({
  id: Id,
  postId: Id,
  /** The top-level comment this reply sits under; null for a top-level comment. */
  parentId: Type.Union([Id, Type.Null()]),
  author: PostAuthor,
  text: Type.String(),
  /** Accounts the text @mentions that existed when it was written, in order of first appearance. */
  mentions: Type.Array(CommentMention),
  /** ms since the Unix epoch: when the server stored it. */
  createdAt: Type.Number(),
  /** Live replies of a top-level comment; 0 for a reply. */
  replyCount: Type.Integer(),
  /** Present (true) only in the answer of an add retried after the comment was deleted: it stays deleted. */
  deleted: Type.Optional(Type.Boolean()),
});
export type Comment = Static<typeof Comment>;

/** A top-level comment in a list, with its first replies. */
export const CommentThread = Type.Composite([
  Comment,
  Type.Object({
    /** Its oldest replies (at most {@link REPLY_PREVIEW}), oldest first. */
    replies: Type.Array(Comment),
    /** Asks `comments.replies` for the replies after these; null when there are no more. */
    repliesCursor: Type.Union([Type.String(), Type.Null()]),
  }),
]);
export type CommentThread = Static<typeof CommentThread>;

const Page = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
};
const NextCursor = Type.Union([Type.String(), Type.Null()]);

export const CommentsMethods = {
  /**
   * Adds a comment of the caller to a post they may see, or a reply when
   * `parentId` names a comment of that post. Replies are one level deep: a
   * reply to a reply sits under that reply's top-level comment (put
   * `@username` in the text to address its author). `commentId` is made by
   * the client on the post's shard (`newId(shardOfId(postId))`); a retry
   * with the same id and content answers the stored comment and changes
   * nothing (after a delete too, with `deleted: true`); other content under
   * that id is `conflict`. Refusals: `not_found` (a post that is missing,
   * deleted or hidden from the caller; a `parentId` naming no live comment),
   * `bad_request` (empty or too long text, an id of another shard or from
   * the future, a `parentId` of another post, too many mentions).
   */
  'comments.add': {
    params: Type.Object(
      {
        /** The post. */
        id: Id,
        commentId: Id,
        text: Type.String({ minLength: 1, maxLength: MAX_COMMENT_LENGTH }),
        parentId: Type.Optional(Id),
      },
      { additionalProperties: false },
    ),
    result: Type.Object({ comment: Comment }),
    idempotent: true,
  },
  /**
   * Deletes a comment (idempotent), by its author or the post's author; a
   * top-level comment takes its replies with it. Someone else is
   * `forbidden`, or `not_found` when they cannot see the post.
   */
  'comments.delete': {
    params: Type.Object({ id: Id }, { additionalProperties: false }),
    result: Type.Object({ id: Id, postId: Id, deleted: Type.Literal(true) }),
    idempotent: true,
  },
  /**
   * A post's top-level comments, newest first, `limit` (1–50, default 20) at
   * a time, each with its reply count and oldest replies. `nextCursor`
   * (opaque) asks the next page, null at the end; a page may be short
   * (comments of users the caller blocks or is blocked by are left out).
   */
  'comments.list': {
    params: Type.Object({ id: Id, ...Page }, { additionalProperties: false }),
    result: Type.Object({ items: Type.Array(CommentThread), nextCursor: NextCursor }),
    idempotent: true,
  },
  /** A top-level comment's replies, oldest first, paginated as `comments.list`. */
  'comments.replies': {
    params: Type.Object({ id: Id, ...Page }, { additionalProperties: false }),
    result: Type.Object({ items: Type.Array(Comment), nextCursor: NextCursor }),
    idempotent: true,
  },
} as const satisfies Record<`comments.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;

/**
 * The comment events of a post's stream (`post:<id>`): a new comment or
 * reply, hydrated as anyone sees it, or one that is gone (a deleted
 * top-level comment takes its replies with it: no event per reply).
 * Delivery is at least once (a retried add or delete publishes again): key
 * comments by id.
 */
export const CommentEvent = Type.Union([
  Type.Object({ type: Type.Literal('comment'), comment: Comment }),
  Type.Object({ type: Type.Literal('comment_deleted'), id: Id, postId: Id }),
]);
export type CommentEvent = Static<typeof CommentEvent>;
