import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';
import { planReconnect } from './reconnect.js';
import type { DisconnectReason } from './types.js';

const reason = (r: Partial<DisconnectReason> & Pick<DisconnectReason, 'action'>): DisconnectReason => ({
  source: 'server',
  code: 4000,
  name: 'x',
  message: '',
  ...r,
});

function ctx(canRefreshToken = true) {
  return {
    backoff: new Backoff({ minMs: 100, maxMs: 10_000, factor: 2 }, () => 0.5),
    resumeJitterMs: 40,
    random: () => 0.5,
    canRefreshToken,
  };
}

describe('planReconnect', () => {
  it('stop: stays disconnected', () => {
    expect(planReconnect(reason({ action: 'stop' }), ctx())).toEqual({ kind: 'stop' });
  });

  it('resume: at once plus jitter, or after the server hint plus jitter', () => {
    expect(planReconnect(reason({ action: 'resume' }), ctx())).toEqual({
      kind: 'retry',
      delayMs: 20,
      refreshToken: false,
    });
    expect(planReconnect(reason({ action: 'resume', retryAfterMs: 1000 }), ctx())).toMatchObject({
      delayMs: 1000,
    });
  });

  it('backoff: growing full-jitter delays, or the server hint when given (without growing the window)', () => {
    const c = ctx();
    const delays = [1, 2, 3].map(
      () => (planReconnect(reason({ action: 'backoff' }), c) as { delayMs: number }).delayMs,
    );
    expect(delays).toEqual([50, 100, 200]);
    expect(planReconnect(reason({ action: 'backoff', retryAfterMs: 5000 }), c)).toMatchObject({
      delayMs: 5020,
    });
    expect(c.backoff.attempt).toBe(3);
  });

  it('reauth: refresh the token after a backoff delay, or stop when no token can be had', () => {
    expect(planReconnect(reason({ action: 'reauth' }), ctx())).toEqual({
      kind: 'retry',
      delayMs: 50,
      refreshToken: true,
    });
    expect(planReconnect(reason({ action: 'reauth' }), ctx(false))).toEqual({ kind: 'stop' });
  });
});
