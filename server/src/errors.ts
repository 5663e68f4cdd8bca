import { randomUUID } from 'node:crypto';
import { type ErrorCode, isErrorCode, ShutterError } from '@shutter/protocol';
import { toClientError } from './actor-errors.js';
import type { Logger } from './log.js';

export { ShutterError } from '@shutter/protocol';

/** What a client sees of an error, on the socket (`err` frame) and over HTTP. */
export interface PublicError {
  code: ErrorCode;
  message: string;
  retryAfterMs?: number;
  correlationId?: string;
  details?: Record<string, unknown>;
}

/**
 * The one edge where errors leave the server, on the socket (`err` frames)
 * and over HTTP (`{"error": …}` with the code's status): operations,
 * subscriptions and routes throw, and never translate themselves. Actor
 * runtime failures become protocol codes first (`toClientError`: a moving
 * shard → `unavailable`, a timeout → `timeout`, …); then a public
 * `ShutterError` passes as it is, and anything else is logged with a
 * correlation id and masked as `internal_error` (its message shown only
 * when `expose` is on).
 */
export function toPublicError(
  err: unknown,
  log: Logger,
  context: Record<string, unknown>,
  expose = false,
): PublicError {
  err = toClientError(err);
  if (err instanceof ShutterError && err.public && isErrorCode(err.code)) {
    const out: PublicError = { code: err.code, message: err.message };
    if (err.retryAfterMs !== undefined) out.retryAfterMs = err.retryAfterMs;
    if (err.details !== undefined) out.details = err.details;
    return out;
  }
  const correlationId = randomUUID();
  log.error({ err, correlationId, ...context }, 'unexpected error');
  const message = expose && err instanceof Error ? err.message : 'internal error';
  return { code: 'internal_error', message, correlationId };
}
