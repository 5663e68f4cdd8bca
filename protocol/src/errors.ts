/**
 * Every error the wire can carry. Codes are stable snake_case strings: clients
 * switch on `code`, never on `message`. `retryable` says whether the same
 * request may succeed if sent again later (after `retryAfterMs` when given).
 * `http` is the status the HTTP API answers the code with. What each code
 * means is in `error-descriptions.ts` (a new code needs a line there too).
 * docs/errors.md lists the same table; a test keeps the two in sync.
 */
export const ErrorCodes = {
  bad_frame: { http: 400, retryable: false },
  bad_request: { http: 400, retryable: false },
  frame_too_large: { http: 413, retryable: false },
  unknown_method: { http: 404, retryable: false },
  unauthenticated: { http: 401, retryable: false },
  auth_failed: { http: 401, retryable: false },
  token_expired: { http: 401, retryable: false },
  forbidden: { http: 403, retryable: false },
  not_found: { http: 404, retryable: false },
  invalid_stream: { http: 400, retryable: false },
  already_subscribed: { http: 409, retryable: false },
  not_subscribed: { http: 409, retryable: false },
  too_many_subscriptions: { http: 429, retryable: false },
  rate_limited: { http: 429, retryable: true },
  conflict: { http: 409, retryable: false },
  payload_too_large: { http: 413, retryable: false },
  timeout: { http: 504, retryable: true },
  unavailable: { http: 503, retryable: true },
  over_capacity: { http: 503, retryable: true },
  disconnected: { http: 503, retryable: true },
  internal_error: { http: 500, retryable: true },
  quota_exceeded: { http: 429, retryable: true },
  upload_not_found: { http: 404, retryable: false },
  upload_expired: { http: 410, retryable: false },
  url_expired: { http: 403, retryable: false },
  part_missing: { http: 409, retryable: false },
  size_mismatch: { http: 400, retryable: false },
  unsupported_media_type: { http: 415, retryable: false },
  image_too_large: { http: 422, retryable: false },
  image_corrupt: { http: 422, retryable: false },
  image_empty: { http: 422, retryable: false },
  media_processing_failed: { http: 500, retryable: true },
  write_rejected: { http: 422, retryable: false },
  idempotency_key_expired: { http: 422, retryable: false },
  username_taken: { http: 409, retryable: false },
  username_invalid: { http: 400, retryable: false },
  username_reserved: { http: 400, retryable: false },
  password_too_weak: { http: 400, retryable: false },
  invalid_credentials: { http: 401, retryable: false },
  refresh_token_invalid: { http: 401, retryable: false },
  blocked: { http: 403, retryable: false },
  cannot_follow_self: { http: 400, retryable: false },
  media_not_ready: { http: 409, retryable: true },
  media_not_owned: { http: 403, retryable: false },
  invalid_cursor: { http: 400, retryable: false },
  nearby_off: { http: 409, retryable: false },
} as const satisfies Record<string, { http: number; retryable: boolean }>;

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
