import { type ErrorCode, isErrorCode, ShutterError } from '@shutter/protocol';

interface ActorErrorLike {
  code: string;
  message: string;
  retryable?: boolean;
  handlerCode?: string;
  public?: boolean;
  details?: Record<string, unknown>;
}

function isActorError(e: unknown): e is ActorErrorLike {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    e instanceof Error
  );
}

const RETRY_AFTER_MS = 250;

/**
 * Translates what an actor ask failed with into a wire error. Runtime codes
 * stay inside the server; clients see protocol codes:
 * - a public error thrown by a handler passes through with its own code;
 * - `state_rejected` → `write_rejected`, `idempotency_key_expired` → itself,
 *   `idempotency_key_invalid` → `bad_request` (none of them retryable);
 * - `actor_timeout` → `timeout` (it may have been applied: retry with the same key);
 * - retryable runtime failures (moving shard, unavailable, stale epoch) → `unavailable` with a retry hint;
 * - anything else is rethrown for the edge to mask as `internal_error`.
 */
export function toClientError(err: unknown): unknown {
  if (err instanceof ShutterError || !isActorError(err)) return err;
  if (err.code === 'actor_handler_error' && err.public && err.handlerCode && isErrorCode(err.handlerCode)) {
    return new ShutterError(err.handlerCode as ErrorCode, err.message, {
      ...(err.details ? { details: err.details } : {}),
      cause: err,
    });
  }
  // Refusals that sending again cannot change: the client needs to know, not to retry.
  if (err.code === 'state_rejected') {
    return new ShutterError('write_rejected', 'the server cannot store this change as sent', { cause: err });
  }
  if (err.code === 'idempotency_key_expired') {
    return new ShutterError('idempotency_key_expired', err.message, { cause: err });
  }
  if (err.code === 'idempotency_key_invalid') {
    return new ShutterError('bad_request', err.message, { cause: err });
  }
  if (err.code === 'actor_timeout') {
    return new ShutterError(
      'timeout',
      'the request did not complete in time; retry with the same idempotency key',
      { cause: err },
    );
  }
  if (err.retryable) {
    return new ShutterError('unavailable', 'the actor is moving or unavailable; retry shortly', {
      retryAfterMs: RETRY_AFTER_MS,
      cause: err,
    });
  }
  return err;
}
