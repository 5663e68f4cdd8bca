import { type Static, type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../ids.js';

/**
 * The `notifications` capability's methods (served by
 * `server/src/capabilities/notifications/`): a user's notifications (likes,
 * comments, replies, mentions, follows, follow requests and their approval),
 * stored on the user's shard, listed newest first, live on
 * `user:<id>:inbox` (`InboxEvent`), and pushed to the user's devices when no
 * socket reported one shown in time (`notifications.shown`: the delivery
 * ledger).
 *
 * Every method here is idempotent (a resend changes nothing more).
 */

const Id = Type.String({ pattern: ID_PATTERN });
const params = <P extends TProperties>(props: P) => Type.Object(props, { additionalProperties: false });

/** What a notification is about. */
export const NOTIFICATION_TYPES = [
  'like',
  'comment',
  'reply',
  'mention',
  'follow',
  'follow_request',
  'follow_approved',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];
export const NotificationTypeSchema = Type.Union(NOTIFICATION_TYPES.map((t) => Type.Literal(t)));

/** Most ids in one `notifications.read` or `notifications.shown`. */
export const MAX_NOTIFICATION_IDS = 100;

/** Someone a notification is from, as it shows them. */
export const NotificationActor = Type.Object({
  id: Id,
  username: Type.String(),
  displayName: Type.String(),
  /** A ready media item of the user's (`GET /v1/media/{id}` for its variants), or null. */
  avatarMediaId: Type.Union([Type.String(), Type.Null()]),
});

/**
 * One notification. Likes of one post (and comments on one post) that
 * arrive while the notification is still unseen fold into it: `count` grows,
 * `actors` holds the latest few, `version` goes up and the same `id` comes
 * again on the inbox stream (replace the one you show). Once seen (read,
 * reported shown, or pushed) a notification no longer changes; later likes
 * start a new one.
 */
export const Notification = Type.Object({
  id: Id,
  type: NotificationTypeSchema,
  /** The latest actors, newest first (at most 3; fewer when accounts are gone). */
  actors: Type.Array(NotificationActor),
  /** How many distinct actors it stands for (likes or comments folded in); 1 for the other types. */
  count: Type.Integer({ minimum: 1 }),
  /** Ready to show, in English: "alice and 12 others liked your photo". */
  text: Type.String(),
  /** The post it is about (like, comment, reply, mention), else null. */
  postId: Type.Union([Id, Type.Null()]),
  /** The latest comment it is about (comment, reply, a mention in a comment), else null. */
  commentId: Type.Union([Id, Type.Null()]),
  /** The start of that comment's text (at most 100 characters), else null. */
  snippet: Type.Union([Type.String(), Type.Null()]),
  /** ms since the Unix epoch: when it was made, and when it last changed (an actor folded in). */
  createdAt: Type.Number(),
  updatedAt: Type.Number(),
  /** Goes up by one at every change: of two copies of one id, show the higher. */
  version: Type.Integer({ minimum: 1 }),
  read: Type.Boolean(),
  /** Shown to the user already (a socket or a push reported it, or it was read): show it again nowhere. */
  seen: Type.Boolean(),
});
export type Notification = Static<typeof Notification>;

const UnreadCount = Type.Integer({ minimum: 0 });

/** Per-type opt-outs: a muted type is never stored, shown or pushed. */
const Settings = Type.Object({ muted: Type.Array(NotificationTypeSchema, { uniqueItems: true }) });

const Ids = Type.Array(Id, { minItems: 1, maxItems: MAX_NOTIFICATION_IDS, uniqueItems: true });

export const NotificationsMethods = {
  /**
   * A page of the caller's notifications, most recently changed first,
   * `limit` (1–50, default 20) at a time, with the unread count.
   * `nextCursor` (opaque) asks the next page and is null at the end; a
   * malformed cursor is `invalid_cursor`. A notification that changes while
   * you page (an actor folded in) moves to the top: the inbox stream tells
   * you. `GET /v1/notifications`.
   */
  'notifications.list': {
    params: params({
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
      cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    }),
    result: Type.Object({
      items: Type.Array(Notification),
      nextCursor: Type.Union([Type.String(), Type.Null()]),
      unreadCount: UnreadCount,
    }),
    idempotent: true,
  },
  /**
   * Marks notifications read: the `ids` given (the caller's; others are
   * ignored) or `all: true` — exactly one of the two, else `bad_request`.
   * Read implies seen: a push still waiting for them is dropped. Answers the
   * unread count after it, which also goes to the caller's other sockets
   * (`notifications.read` on the inbox stream). `POST /v1/notifications/read`.
   */
  'notifications.read': {
    params: params({ ids: Type.Optional(Ids), all: Type.Optional(Type.Literal(true)) }),
    result: Type.Object({ updated: Type.Integer({ minimum: 0 }), unreadCount: UnreadCount }),
    idempotent: true,
  },
  /** The caller's unread count (the app's badge). `GET /v1/notifications/unread`. */
  'notifications.unread': {
    params: params({}),
    result: Type.Object({ unreadCount: UnreadCount }),
    idempotent: true,
  },
  /**
   * The delivery ledger: the client has shown these notifications (from the
   * socket, or the app from a push). Each is then seen: it is not pushed
   * (a push still waiting is dropped), and clients show it nowhere again.
   * Ids that are not the caller's are ignored. `updated`: how many were not
   * seen before. `POST /v1/notifications/shown`.
   */
  'notifications.shown': {
    params: params({ ids: Ids }),
    result: Type.Object({ updated: Type.Integer({ minimum: 0 }) }),
    idempotent: true,
  },
  /** The caller's per-type opt-outs. `GET /v1/notifications/settings`. */
  'notifications.settings': { params: params({}), result: Settings, idempotent: true },
  /**
   * Replaces the caller's opt-outs: `muted` types are no longer made (those
   * already stored stay). Answers the settings now. `PUT /v1/notifications/settings`.
   */
  'notifications.updateSettings': {
    params: params({ muted: Type.Array(NotificationTypeSchema, { uniqueItems: true }) }),
    result: Settings,
    idempotent: true,
  },
} as const satisfies Record<
  `notifications.${string}`,
  { params: TSchema; result: TSchema; idempotent: boolean }
>;

/**
 * The data of an event on `user:<id>:inbox`: a notification, new or changed
 * (same id, higher `version`: replace it), with the unread count after it;
 * one withdrawn before it was seen (an unlike soon after a like, a deleted
 * comment or post: drop it); or notifications read on another socket.
 */
export const InboxEvent = Type.Union([
  Type.Object({ type: Type.Literal('notification'), notification: Notification, unreadCount: UnreadCount }),
  Type.Object({ type: Type.Literal('notification.removed'), id: Id, unreadCount: UnreadCount }),
  Type.Object({
    type: Type.Literal('notifications.read'),
    /** The ids now read, or null for all of them. */
    ids: Type.Union([Type.Array(Id), Type.Null()]),
    unreadCount: UnreadCount,
  }),
]);
export type InboxEvent = Static<typeof InboxEvent>;
