export type { Api } from './api.js';
/**
 * @shutter/client-sdk: the public surface. Everything apps need is listed
 * here by name; internals (connection, request table, cursors) stay private.
 */

// Re-exported so apps need only this package to switch on codes.
// The methods this SDK can call, as types (params and result of each) and as a runtime list.
export {
  type ErrorCode,
  ErrorCodes,
  MethodIdempotency,
  type MethodMap,
  type MethodName,
  type MethodParams,
  type MethodResult,
  type NearbyStreamEvent,
  type PostCountsEvent,
  type PresenceEntry,
  type PresenceEvent,
  ShutterError,
} from '@shutter/protocol/wire';
export {
  Backoff,
  type BackoffOptions,
  DEFAULT_BACKOFF,
  fullJitterDelay,
  retryWithBackoff,
} from './backoff.js';
export { type AppLifecycleState, type CallOptions, createClient, ShutterClient } from './client.js';
export { ClientCloseCode, type ClientCloseName } from './codes.js';
export type { ClientInfo } from './connection.js';
export type { Listener } from './emitter.js';
export { ServerError } from './errors.js';
export { isValidIdempotencyKey, newIdempotencyKey } from './ikey.js';
export { createInbox, type Inbox, type InboxEvent, type Notification } from './inbox.js';
export { type LikeState, likeToggle } from './likes.js';
export { type ClientOptions, DEFAULTS } from './options.js';
export { Session, type SessionOptions, type SessionResult } from './session.js';
export type {
  RefetchInfo,
  StreamEvent,
  StreamHandler,
  SubscribedInfo,
  SubscribeOptions,
  Subscription,
  SubscriptionEvents,
  SubscriptionState,
} from './subscription.js';
export type {
  ClientErrorEvent,
  ClientErrorKind,
  ClientEvents,
  ClientState,
  ConnectedInfo,
  DisconnectReason,
  ReconnectInfo,
  StateChange,
  StreamPosition,
} from './types.js';
export { UpgradeRefusedError } from './upgrade-refusal.js';
export { Upload } from './upload.js';
export type { FetchLike } from './upload-http.js';
export {
  UploadCancelledError,
  type UploadData,
  type UploadEvents,
  type UploaderOptions,
  type UploadOptions,
  type UploadProgress,
  type UploadResult,
  type UploadState,
} from './upload-types.js';
export { createUploader, httpBaseUrl, UPLOAD_DEFAULTS, type Uploader } from './uploader.js';
export { watchNearby } from './watch-nearby.js';
export { watchPost } from './watch-post.js';
export { type PresenceWatch, watchPresence } from './watch-presence.js';
export type { WebSocketConstructor, WebSocketLike } from './websocket.js';
