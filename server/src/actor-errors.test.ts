import { IdempotencyKeyExpired, IdempotencyKeyInvalid, StateRejected } from '@shutter/actors';
import { ErrorCodes, ShutterError } from '@shutter/protocol';
import { describe, expect, it } from 'vitest';
import { toClientError } from './actor-errors.js';

describe('toClientError: runtime refusals that sending again cannot change', () => {
  it.each([
    [new StateRejected('actor "counter"/"u:\\ud800": the name holds a lone surrogate'), 'write_rejected'],
    [new IdempotencyKeyExpired('system.increment:0190…', 90_000_000, 86_400_000), 'idempotency_key_expired'],
    [new IdempotencyKeyInvalid('k-legacy', 'not a UUIDv7 or ULID'), 'bad_request'],
  ])('%s → %s, not retryable', (err, code) => {
    const out = toClientError(err);
    expect(out).toBeInstanceOf(ShutterError);
    expect((out as ShutterError).code).toBe(code);
    expect(ErrorCodes[(out as ShutterError).code].retryable).toBe(false);
  });
});
