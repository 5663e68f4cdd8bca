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
export { FeedEvent } from './methods/feed.js';
export {
  MAX_CAPTION_LENGTH,
  MAX_HASHTAGS,
  MAX_POST_MEDIA,
  type Post,
  type PostImage,
} from './methods/posts.js';
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
  isValidStreamName,
  STREAM_NAME_PATTERN,
  type StreamPosition,
  streamKind,
} from './streams.js';
export { MalformedFrameError } from './strict-decode.js';
export { UncleanTextError } from './text.js';
export { DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION, SUBPROTOCOLS, Subprotocol, WS_PATH } from './version.js';
