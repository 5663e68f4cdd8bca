import type { MethodResult } from './methods.js';

/**
 * Stream names: `<kind>:<id>[:<sub>]`, for example `user:42:inbox`,
 * `photo:9f3c:live`, `topic:demo`. Kind is lower-case letters; each further
 * segment 1–128 of `A–Z a–z 0–9 _ . -`; the whole name at most 200 bytes.
 */
export const STREAM_NAME_PATTERN = '^[a-z][a-z0-9_]{0,31}(:[A-Za-z0-9_.-]{1,128}){1,3}$';
const streamRe = new RegExp(STREAM_NAME_PATTERN);

export function isValidStreamName(name: string): boolean {
  return name.length <= 200 && streamRe.test(name);
}

export function streamKind(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(0, i);
}

/** A position in a stream: the stream's epoch and the seq of the last event seen. */
export interface StreamPosition {
  epoch: string;
  seq: number;
}

/** The live stream of a user's feed: new posts of the authors they follow (below the fan-out threshold). */
export function feedStream(userId: string): string {
  return `user:${userId}:feed`;
}

/** The live stream of an author's new posts: followers of an author above the fan-out threshold subscribe to it. */
export function authorPostsStream(authorId: string): string {
  return `author:${authorId}:posts`;
}

/**
 * The live stream of one post, for the clients showing it: coalesced counts
 * (likes, comments, viewers) and new or deleted comments. A subscription to
 * it is a view with a lease (`leaseMs` in the `sub` answer) that the client
 * renews by sending `sub` again, and that lapses by itself.
 */
export function postStream(postId: string): string {
  return `post:${postId}`;
}

/**
 * An event of `post:<id>`: the post's counts, coalesced — at most
 * `LIVE_COUNTS_PER_SECOND` of these a second, and after changes stop always
 * one more with the true values. `viewers` is how many connections hold a
 * lease on the stream now.
 */
export interface PostCountsEvent {
  type: 'counts';
  likes: number;
  comments: number;
  viewers: number;
}

/** The live stream of a user's notifications (`notifications.*`). */
export function inboxStream(userId: string): string {
  return `user:${userId}:inbox`;
}

/**
 * The live presence of the people user `<id>` follows, for that user alone:
 * a direct leased stream (no history; `from` answers `refetch`), whose
 * events are `PresenceEvent`s.
 */
export function presenceStream(userId: string): string {
  return `presence:${userId}`;
}

/**
 * One user's presence as a follower sees it (`presence.following` items,
 * `presence` events). `lastSeen` (ms since the Unix epoch) is when their
 * last socket closed; null while online, for a user never seen, and for one
 * who turned presence off (who shows offline). `v` orders the states of one
 * user: of two, the higher is the newer (0: unknown, older than any event).
 */
export interface PresenceEntry {
  id: string;
  online: boolean;
  lastSeen: number | null;
  v: number;
}

/**
 * An event's `data` on `presence:<id>`: changes of the people user `<id>`
 * follows, at most one event per `PRESENCE_UPDATE_MS` per watcher.
 * `presence`: `users` are their new states (apply one only if its `v` is
 * higher than the one held), `removed` users the watcher no longer sees
 * (unfollowed, blocked: drop them). `presence.resync`: changes may have been
 * lost (the server's bus reconnected): read `presence.following` again.
 */
export type PresenceEvent =
  | { type: 'presence'; users: PresenceEntry[]; removed: string[] }
  | { type: 'presence.resync' };

/**
 * The live list of user `<id>`'s friends nearby, for that user alone, while
 * their screen shows it: at the default radius (NEARBY_RADIUS_METERS), or at
 * `radiusMeters` (an integer, 100 … 50 000) as `nearby:<id>:<radius>`. A
 * leased subscription, like `post:<id>`.
 */
export function nearbyStream(userId: string, radiusMeters?: number): string {
  return radiusMeters === undefined ? `nearby:${userId}` : `nearby:${userId}:${radiusMeters}`;
}

/**
 * An event of `nearby:<id>[:<radius>]`: the whole list as it is now
 * (`nearby.list`'s answer plus `type`), sent when it changed and to a new
 * viewer. The schema is `NearbyEvent` (`methods/nearby.ts`).
 */
export type NearbyStreamEvent = { type: 'nearby' } & MethodResult<'nearby.list'>;
