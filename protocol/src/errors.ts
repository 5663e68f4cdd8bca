/**
 * Every error the wire can carry. Codes are stable snake_case strings: clients
 * switch on `code`, never on `message`. `retryable` says whether the same
 * request may succeed if sent again later (after `retryAfterMs` when given).
 * `http` is the status the HTTP API answers the code with.
 * docs/errors.md lists the same table; a test keeps the two in sync.
 */
export const ErrorCodes = {
  bad_frame: {
    http: 400,
    retryable: false,
    description: 'The frame could not be decoded with the negotiated codec.',
  },
  bad_request: {
    http: 400,
    retryable: false,
    description: 'The frame decoded but does not match the schema of its message type or method.',
  },
  frame_too_large: {
    http: 413,
    retryable: false,
    description: "The frame is larger than the server's `maxFrameBytes`.",
  },
  unknown_method: { http: 404, retryable: false, description: 'No request method of that name exists.' },
  unauthenticated: {
    http: 401,
    retryable: false,
    description: 'The first frame was not `hello`, or a request came before authentication finished.',
  },
  auth_failed: {
    http: 401,
    retryable: false,
    description: 'The token is missing, malformed, badly signed, or for another audience or issuer.',
  },
  token_expired: {
    http: 401,
    retryable: false,
    description: 'The token has expired; get a new one and authenticate again.',
  },
  forbidden: {
    http: 403,
    retryable: false,
    description: "Authenticated, but not allowed to do this (for example subscribe to another user's inbox).",
  },
  not_found: { http: 404, retryable: false, description: 'The thing named does not exist.' },
  invalid_stream: {
    http: 400,
    retryable: false,
    description: 'The stream name does not follow the stream grammar.',
  },
  already_subscribed: {
    http: 409,
    retryable: false,
    description: 'This connection is already subscribed to that stream.',
  },
  not_subscribed: {
    http: 409,
    retryable: false,
    description: 'This connection is not subscribed to that stream.',
  },
  too_many_subscriptions: {
    http: 429,
    retryable: false,
    description: 'The connection has reached its subscription limit.',
  },
  rate_limited: {
    http: 429,
    retryable: true,
    description: 'Too many frames or requests; retry after `retryAfterMs`.',
  },
  conflict: {
    http: 409,
    retryable: false,
    description: 'The change conflicts with the current state (for example a stale version).',
  },
  payload_too_large: {
    http: 413,
    retryable: false,
    description: 'A request or upload is larger than allowed.',
  },
  timeout: {
    http: 504,
    retryable: true,
    description: 'The server could not finish the request before its deadline.',
  },
  unavailable: {
    http: 503,
    retryable: true,
    description: 'A dependency is temporarily unavailable, or the node is draining.',
  },
  over_capacity: {
    http: 503,
    retryable: true,
    description:
      'The node holds as many connections as it may; retry after `retryAfterMs`, possibly elsewhere.',
  },
  disconnected: {
    http: 503,
    retryable: true,
    description: 'Client-side only: the socket closed before the answer arrived.',
  },
  internal_error: {
    http: 500,
    retryable: true,
    description: 'An unexpected failure on the server; `correlationId` names it in the server log.',
  },
  quota_exceeded: {
    http: 429,
    retryable: true,
    description:
      'The user has too many bytes or uploads in flight, or has uploaded their daily allowance; `details` says which limit, `retryAfterMs` when it frees up.',
  },
  upload_not_found: {
    http: 404,
    retryable: false,
    description: 'No upload with that id belongs to this user.',
  },
  upload_expired: {
    http: 410,
    retryable: false,
    description:
      'The upload was not completed in time (or was aborted) and its bytes were deleted; start a new one.',
  },
  url_expired: {
    http: 403,
    retryable: false,
    description: 'The presigned URL is past its expiry; ask the API for a fresh one.',
  },
  part_missing: {
    http: 409,
    retryable: false,
    description:
      'Completing a multipart upload needs parts the server has no record of; `details.missing` lists them.',
  },
  size_mismatch: {
    http: 400,
    retryable: false,
    description: 'The bytes received do not match the size declared when the upload was created.',
  },
  unsupported_media_type: {
    http: 415,
    retryable: false,
    description:
      'The declared content type, or the type sniffed from the bytes when processing, is not one the media path accepts (docs/media-processing.md lists them).',
  },
  image_too_large: {
    http: 422,
    retryable: false,
    description:
      'The image has more pixels than the media path decodes (`MEDIA_MAX_INPUT_PIXELS`), a guard against decompression bombs.',
  },
  image_corrupt: {
    http: 422,
    retryable: false,
    description:
      'The bytes start like a supported image but do not decode: truncated, corrupt, or header and data disagree.',
  },
  image_empty: { http: 422, retryable: false, description: 'The uploaded file has zero bytes.' },
  media_processing_failed: {
    http: 500,
    retryable: true,
    description:
      "Processing an upload failed on every attempt for a reason on the server's side (storage or database); uploading again may succeed.",
  },
  write_rejected: {
    http: 422,
    retryable: false,
    description:
      'The server cannot store the change this request makes, as sent (for example a name holding characters the database refuses); sending it again fails the same way. Nothing was applied.',
  },
  idempotency_key_expired: {
    http: 422,
    retryable: false,
    description:
      'The time in the `ikey` (a UUIDv7) is older than the idempotency window, so the server may have forgotten it and refuses the request rather than risk applying it twice. Nothing was applied; check the state before sending it again with a new key.',
  },
} as const satisfies Record<string, { http: number; retryable: boolean; description: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ErrorCodes, code);
}

export interface ShutterErrorOptions {
  /** Shown to clients when true; otherwise the edge masks it as `internal_error`. */
  public?: boolean;
  retryAfterMs?: number;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * Base of every typed error in Shutter, on the server and in the SDK. `name`
 * equals the class name; `code` is one of {@link ErrorCodes}.
 */
export class ShutterError extends Error {
  readonly code: ErrorCode;
  readonly public: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown> | undefined;
  /** Set at the edge for masked internal errors: names the failure in the server log. */
  correlationId: string | undefined;

  constructor(code: ErrorCode, message: string, options: ShutterErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.public = options.public ?? true;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }

  get retryable(): boolean {
    return ErrorCodes[this.code].retryable;
  }
}
