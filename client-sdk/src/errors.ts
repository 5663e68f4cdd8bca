import {
  type ErrMessage,
  type ErrorCode,
  isErrorCode,
  ShutterError,
  type ShutterErrorOptions,
} from '@shutter/protocol/wire';
import type { DisconnectReason } from './types.js';

/**
 * An error the server sent in an `err` frame. It is a `ShutterError`, so apps
 * switch on `code`; `serverCode` keeps the code as sent when this SDK does not
 * know it (then `code` is `internal_error`), and `correlationId` (from the
 * frame or its `details`) names the failure in the server log.
 */
export class ServerError extends ShutterError {
  readonly serverCode: string;
  readonly #known: boolean;

  constructor(frame: ErrMessage) {
    const code: ErrorCode = isErrorCode(frame.code) ? frame.code : 'internal_error';
    const options: ShutterErrorOptions = {};
    if (frame.retryAfterMs !== undefined) options.retryAfterMs = frame.retryAfterMs;
    if (frame.details !== undefined) options.details = frame.details;
    super(code, frame.message, options);
    this.serverCode = frame.code;
    this.#known = code === frame.code;
    // The field is top-level (protocol §9.1); `details.correlationId` is read too, as
    // this server sent it before the contract review, so either shape is understood.
    const fromDetails = frame.details?.correlationId;
    this.correlationId = frame.correlationId ?? (typeof fromDetails === 'string' ? fromDetails : undefined);
  }

  /** A code this SDK does not know is retryable only when the server gave `retryAfterMs` (protocol §9.1). */
  override get retryable(): boolean {
    return this.#known ? super.retryable : this.retryAfterMs !== undefined;
  }
}

export function disconnectedError(
  message = 'the connection closed before the answer arrived',
  details?: Record<string, unknown>,
): ShutterError {
  return new ShutterError('disconnected', message, details === undefined ? {} : { details });
}

export function timeoutError(timeoutMs: number): ShutterError {
  return new ShutterError('timeout', `no answer within ${timeoutMs} ms`, { details: { timeoutMs } });
}

/** `ready(timeoutMs)` ran out: says why the last attempt failed, when one did. */
export function notReadyError(timeoutMs: number, last: DisconnectReason | undefined): ShutterError {
  const why = last ? `; the last attempt ended with ${last.name}: ${last.message}` : '';
  const details: Record<string, unknown> = { timeoutMs };
  if (last) details.reason = last.name;
  return new ShutterError('timeout', `not connected within ${timeoutMs} ms${why}`, {
    details,
    ...(last?.error ? { cause: last.error } : {}),
  });
}

/** Turns whatever a callback threw into an Error. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
