import type { ErrorCode } from './errors.js';

/**
 * What each wire error code means, as docs/errors.md says it (a test keeps
 * the two equal). Kept apart from `ErrorCodes` so that client bundles, which
 * need only the codes' `http` and `retryable`, do not carry the prose.
 */
export const ErrorDescriptions: Record<ErrorCode, string> = {
  bad_frame:
    'The frame could not be decoded with the negotiated codec, or is not one well-formed value: a key twice in one map; in msgpack also the byte 0xc1, `bin`, `ext`, non-string keys or invalid UTF-8.',
  bad_request:
    'The frame decoded but does not match the schema of its message type or method, or holds a string or key that is not well-formed Unicode (a lone surrogate) or contains NUL.',
  frame_too_large: "The frame is larger than the server's `maxFrameBytes`.",
  unknown_method: 'No request method of that name exists.',
  unauthenticated: 'The first frame was not `hello`, or a request came before authentication finished.',
  auth_failed: 'The token is missing, malformed, badly signed, or for another audience or issuer.',
  token_expired: 'The token has expired; get a new one and authenticate again.',
  forbidden: "Authenticated, but not allowed to do this (for example subscribe to another user's inbox).",
  not_found: 'The thing named does not exist.',
  invalid_stream: 'The stream name does not follow the stream grammar.',
  already_subscribed: 'This connection is already subscribed to that stream.',
  not_subscribed: 'This connection is not subscribed to that stream.',
  too_many_subscriptions: 'The connection has reached its subscription limit.',
  rate_limited: 'Too many frames or requests; retry after `retryAfterMs`.',
  conflict: 'The change conflicts with the current state (for example a stale version).',
  payload_too_large: 'A request or upload is larger than allowed.',
  timeout: 'The server could not finish the request before its deadline.',
  unavailable: 'A dependency is temporarily unavailable, or the node is draining.',
  over_capacity:
    'The node holds as many connections as it may; retry after `retryAfterMs`, possibly elsewhere.',
  disconnected: 'Client-side only: the socket closed before the answer arrived.',
  internal_error: 'An unexpected failure on the server; `correlationId` names it in the server log.',
  quota_exceeded:
    'The user has too many bytes or uploads in flight, or has uploaded their daily allowance; `details` says which limit, `retryAfterMs` when it frees up.',
  upload_not_found: 'No upload with that id belongs to this user.',
  upload_expired:
    'The upload was not completed in time (or was aborted) and its bytes were deleted; start a new one.',
  url_expired: 'The presigned URL is past its expiry; ask the API for a fresh one.',
  part_missing:
    'Completing a multipart upload needs parts the server has no record of; `details.missing` lists them.',
  size_mismatch: 'The bytes received do not match the size declared when the upload was created.',
  unsupported_media_type:
    'The declared content type, or the type sniffed from the bytes when processing, is not one the media path accepts (docs/media-processing.md lists them).',
  image_too_large:
    'The image has more pixels than the media path decodes (`MEDIA_MAX_INPUT_PIXELS`), a guard against decompression bombs.',
  image_corrupt:
    'The bytes start like a supported image but do not decode: truncated, corrupt, or header and data disagree.',
  image_empty: 'The uploaded file has zero bytes.',
  media_processing_failed:
    "Processing an upload failed on every attempt for a reason on the server's side (storage or database); uploading again may succeed.",
  write_rejected:
    'The server cannot store the change this request makes, as sent (for example a name holding characters the database refuses); sending it again fails the same way. Nothing was applied.',
  idempotency_key_expired:
    'The time in the `ikey` (a UUIDv7) is older than the idempotency window, so the server may have forgotten it and refuses the request rather than risk applying it twice. Nothing was applied; check the state before sending it again with a new key.',
  username_taken:
    'Accounts: another account holds that username (usernames are unique without regard to case). Nothing was created.',
  username_invalid:
    'Accounts: a username must be 3–30 characters of `a-z 0-9 . _` (upper case is read as lower case).',
  username_reserved:
    'Accounts: the username is reserved (for example `admin`, `api`, `shutter`) and cannot be registered.',
  password_too_weak:
    'Accounts: the password is shorter than the minimum, longer than the maximum, or on the list of common passwords.',
  invalid_credentials:
    'Accounts: the username and password do not match an account. Whether the username exists is not told.',
  refresh_token_invalid:
    'Accounts: the refresh token is unknown, expired, revoked, or was already used (a reused token revokes its whole family: log in again).',
  blocked: 'Graph: the other user blocks you, or you block them; nothing was changed.',
  cannot_follow_self: 'Graph: a user cannot follow themselves.',
  media_not_ready:
    'Posts and avatars: a media id named in the post (or as the avatar) has not finished processing (or failed); try again once it is ready.',
  media_not_owned:
    'Posts and avatars: a media id named in the post (or as the avatar) does not exist or belongs to someone else.',
  invalid_cursor:
    'A pagination cursor is malformed or was not made by this server; start again without a cursor.',
  nearby_off:
    'Nearby friends: the caller has not turned location sharing on (`nearby.updateSettings`); nothing was stored.',
};
