/**
 * The wire contract. Validators (TypeBox's compiler, which builds functions at
 * run time) live apart in `@shutter/protocol/validate`, so browser bundles of
 * the SDK stay free of them and of strict-CSP trouble.
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
export { type Codec, codecFor, type Frame, jsonCodec, msgpackCodec } from './codec.js';
export { type ErrorCode, ErrorCodes, isErrorCode, ShutterError, type ShutterErrorOptions } from './errors.js';
export { hardenMsgpackDecoding } from './harden.js';
export { ID_PATTERN, isId, LOGICAL_SHARDS, newId, randomShard, shardOfId, timeOfId } from './ids.js';
export * from './messages.js';
export {
  Comment,
  CommentEvent,
  CommentThread,
  MAX_COMMENT_LENGTH,
  MAX_COMMENT_MENTIONS,
  REPLY_PREVIEW,
} from './methods/comments.js';
export { APNS_TOKEN_PATTERN, type DeviceView } from './methods/devices.js';
export { FeedEvent } from './methods/feed.js';
export {
  NEARBY_MAX_RADIUS_METERS,
  NEARBY_MIN_RADIUS_METERS,
  NearbyEvent,
  NearbyFriend,
  NearbyList,
} from './methods/nearby.js';
export {
  InboxEvent,
  MAX_NOTIFICATION_IDS,
  NOTIFICATION_TYPES,
  Notification,
  type NotificationType,
} from './methods/notifications.js';
export { MAX_RADIUS_METERS } from './methods/places.js';
export {
  MAX_CAPTION_LENGTH,
  MAX_HASHTAGS,
  MAX_POST_MEDIA,
  type Post,
  type PostImage,
} from './methods/posts.js';
export { MAX_PRESENCE_LIST, PresenceUser } from './methods/presence.js';
export {
  FoundPosts,
  FoundUser,
  MAX_SEARCH_QUERY_LENGTH,
  MAX_TAG_LENGTH,
  MAX_USER_QUERY_LENGTH,
} from './methods/search.js';
export { RankSource } from './methods/trending.js';
export {
  isMethodName,
  type MethodMap,
  type MethodName,
  type MethodParams,
  type MethodResult,
  type MethodSchemas,
  Methods,
} from './methods.js';
export {
  authorPostsStream,
  feedStream,
  inboxStream,
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
export { MalformedFrameError } from './strict-decode.js';
export { UncleanTextError } from './text.js';
export { DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION, SUBPROTOCOLS, Subprotocol, WS_PATH } from './version.js';
