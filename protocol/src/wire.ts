/**
 * `@shutter/protocol/wire`: the wire contract without schemas, for clients.
 *
 * Close and error codes, stream names, version constants, the two codecs
 * (dependency-free, `wire-codec.ts`) and every message type, as types only.
 * Nothing here loads TypeBox or msgpackr at run time, so a browser bundle of
 * the SDK carries neither; the schemas stay in the main entry for the server
 * and `@shutter/protocol/validate`.
 */
export {
  type CloseAction,
  CloseCode,
  type CloseName,
  closeActionOf,
  closeNameOf,
  formatCloseReason,
  parseCloseReason,
} from './close-codes.js';
export type { Codec, Frame } from './codec.js';
export { type ErrorCode, ErrorCodes, isErrorCode, ShutterError, type ShutterErrorOptions } from './errors.js';
export { isId, LOGICAL_SHARDS, newId, randomShard, shardOfId, timeOfId } from './ids.js';
export type * from './messages.js';
export type { MethodMap, MethodName, MethodParams, MethodResult } from './methods.js';
export {
  isValidStreamName,
  type NearbyStreamEvent,
  nearbyStream,
  type PostCountsEvent,
  type PresenceEntry,
  type PresenceEvent,
  postStream,
  presenceStream,
  STREAM_NAME_PATTERN,
  type StreamPosition,
  streamKind,
} from './streams.js';
export { DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION, SUBPROTOCOLS, Subprotocol, WS_PATH } from './version.js';
export { decodeMsgpack, encodeMsgpack, jsonWireCodec, msgpackWireCodec } from './wire-codec.js';

import type { MethodName } from './methods.js';

/**
 * `Methods[m].idempotent` without the schemas: whether a call of `m` may be
 * sent again after a lost connection. The key set must be exactly the
 * methods (a type error otherwise); a test checks the values agree.
 */
export const MethodIdempotency = {
  'system.echo': true,
  'system.increment': false,
  'feed.get': true,
  'posts.create': false,
  'posts.get': true,
  'posts.delete': true,
  'posts.list': true,
  'likes.like': true,
  'likes.unlike': true,
  'likes.list': true,
  'graph.follow': true,
  'graph.unfollow': true,
  'graph.followers': true,
  'graph.following': true,
  'graph.requests': true,
  'graph.approve': true,
  'graph.deny': true,
  'graph.removeFollower': true,
  'graph.block': true,
  'graph.unblock': true,
  'graph.relation': true,
  'accounts.register': false,
  'accounts.login': true,
  'accounts.refresh': false,
  'accounts.logout': true,
  'accounts.profile': true,
  'accounts.me': true,
  'accounts.update': true,
  'accounts.delete': true,
  'comments.add': true,
  'comments.delete': true,
  'comments.list': true,
  'comments.replies': true,
  'devices.register': true,
  'devices.list': true,
  'devices.remove': true,
  'notifications.list': true,
  'notifications.read': true,
  'notifications.unread': true,
  'notifications.shown': true,
  'notifications.settings': true,
  'notifications.updateSettings': true,
  'presence.following': true,
  'presence.settings': true,
  'presence.updateSettings': true,
  'nearby.settings': true,
  'nearby.updateSettings': true,
  'nearby.updateLocation': true,
  'nearby.list': true,
  'trending.get': true,
  'explore.get': true,
  'search.tagPosts': true,
  'search.posts': true,
  'search.users': true,
  'places.posts': true,
} as const satisfies Record<MethodName, boolean>;
