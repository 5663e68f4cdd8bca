import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../ids.js';

/**
 * The `posts` capability's methods (served by `server/src/capabilities/posts/`):
 * create, read (hydrated), delete, and a user's posts newest first.
 *
 * A post's id is made by the client (`newId(shardOfId(myUserId))`), so a
 * retried create names the same row and is a no-op; the server makes one
 * when `id` is omitted (a retry then makes a second post: send an id).
 */

const Id = Type.String({ pattern: ID_PATTERN });

/** Largest caption, in UTF-16 code units (what the schema's `maxLength` counts: an emoji may count 2). */
export const MAX_CAPTION_LENGTH = 2200;
/** Most media items of one post (a carousel). */
export const MAX_POST_MEDIA = 10;
/** Most distinct hashtags in one caption (more is `bad_request`). */
export const MAX_HASHTAGS = 30;

/** A place: latitude −90..90, longitude −180..180, an optional name. */
export const Location = Type.Object(
  {
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

/** One stored rendition of an image: its long-edge size, format, pixel size and a GET URL. */
export const ImageVariant = Type.Object({
  size: Type.Integer(),
  format: Type.Union([Type.Literal('webp'), Type.Literal('jpeg')]),
  width: Type.Integer(),
  height: Type.Integer(),
  /**
   * A GET URL from the object store (`BlobStore.presignGet`): absolute, or
   * path-only (`/media/…`) on a local store without MEDIA_PUBLIC_URL — resolve
   * it against the node's origin. Valid for a day.
   */
  url: Type.String(),
});

/** A ready media item as a post shows it. */
export const Image = Type.Object({
  mediaId: Type.String(),
  /** Of the original after auto-orientation. */
  width: Type.Integer(),
  height: Type.Integer(),
  /** ThumbHash (base64): draw it while the variant loads. */
  placeholder: Type.Union([Type.String(), Type.Null()]),
  /** Every size and format, smallest first. */
  variants: Type.Array(ImageVariant),
});
export type PostImage = Static<typeof Image>;

/** The author as a post shows it. */
export const PostAuthor = Type.Object({
  id: Id,
  username: Type.String(),
  displayName: Type.String(),
  /** The avatar's variants, or null without one. */
  avatar: Type.Union([Image, Type.Null()]),
});

/** A post, hydrated: what `posts.get`, `posts.list` and the feed answer. */
export const Post = Type.Object({
  id: Id,
  author: PostAuthor,
  caption: Type.String(),
  /** Lower-cased, without `#`, in order of first appearance. */
  hashtags: Type.Array(Type.String()),
  /** Lower-cased usernames, without `@`, in order of first appearance (not checked to exist). */
  mentions: Type.Array(Type.String()),
  location: Type.Union([Location, Type.Null()]),
  /** ms since the Unix epoch: when the server stored it. */
  createdAt: Type.Number(),
  /** The carousel, in the order given at creation. */
  media: Type.Array(Image),
  likeCount: Type.Integer(),
  commentCount: Type.Integer(),
  /** Whether the caller likes it. */
  likedByMe: Type.Boolean(),
  /** Present (true) only in the answer of a create retried after the post was deleted: it stays deleted. */
  deleted: Type.Optional(Type.Boolean()),
});
export type Post = Static<typeof Post>;

const Cursor = Type.String({ minLength: 1, maxLength: 200 });

export const PostsMethods = {
  /**
   * Creates a post of the caller from 1–10 of their ready media items. A
   * retry with the same `id` answers the same post (201 again) and changes
   * nothing; the same `id` with other content is `conflict`. Refusals:
   * `media_not_ready`, `media_not_owned`, `bad_request` (duplicate media,
   * more than 30 hashtags, an id of another shard or from the future, or
   * anything the schema refuses).
   */
  'posts.create': {
    params: Type.Object(
      {
        id: Type.Optional(Id),
        mediaIds: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
          minItems: 1,
          maxItems: MAX_POST_MEDIA,
        }),
        caption: Type.Optional(Type.String({ maxLength: MAX_CAPTION_LENGTH })),
        location: Type.Optional(Location),
      },
      { additionalProperties: false },
    ),
    result: Type.Object({ post: Post }),
    idempotent: false,
  },
  /** A post the caller may see, hydrated; `not_found` for a missing, deleted or hidden one. */
  'posts.get': {
    params: Type.Object({ id: Id }, { additionalProperties: false }),
    result: Type.Object({ post: Post }),
    idempotent: true,
  },
  /** Deletes a post of the caller's (idempotent); `forbidden` for someone else's, `not_found` for a hidden one. */
  'posts.delete': {
    params: Type.Object({ id: Id }, { additionalProperties: false }),
    result: Type.Object({ id: Id, deleted: Type.Literal(true) }),
    idempotent: true,
  },
  /**
   * A user's posts, newest first, `limit` (1–50, default 20) at a time;
   * `nextCursor` (opaque) asks the next page, null at the end.
   * `not_found` for a missing user or across a block, `forbidden` for a
   * private account the caller does not follow.
   */
  'posts.list': {
    params: Type.Object(
      {
        /** The author's user id. */
        id: Id,
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
        cursor: Type.Optional(Cursor),
      },
      { additionalProperties: false },
    ),
    result: Type.Object({ items: Type.Array(Post), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
    idempotent: true,
  },
} as const satisfies Record<`posts.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;
