import type { Backoff } from './backoff.js';
import type { DisconnectReason } from './types.js';

export type ReconnectPlan =
  | { kind: 'stop' }
  /** Wait `delayMs`, then connect again; with `refreshToken`, call getToken() first. */
  | { kind: 'retry'; delayMs: number; refreshToken: boolean };

export interface PlanContext {
  backoff: Backoff;
  /** Upper bound of the jitter added to immediate and server-directed reconnects. */
  resumeJitterMs: number;
  random: () => number;
  /** Whether a fresh token can be had (a `getToken` option exists). */
  canRefreshToken: boolean;
}

/**
 * What to do after a connection ended, from the close code's action
 * (protocol `CloseCode`):
 * - `resume`: at once plus a small jitter, or exactly after the server's retry hint;
 * - `backoff`: after the server's retry hint if it gave one, else the next
 *   full-jitter backoff delay;
 * - `reauth`: fresh token, then connect after the next backoff delay (a
 *   server that keeps refusing tokens is not hammered); stop when no fresh
 *   token can be had;
 * - `stop`: stay disconnected.
 */
export function planReconnect(reason: DisconnectReason, ctx: PlanContext): ReconnectPlan {
  const jitter = () => Math.floor(ctx.random() * ctx.resumeJitterMs);
  switch (reason.action) {
    case 'stop':
      return { kind: 'stop' };
    case 'resume':
      // A server hint on resume is already jittered per socket (protocol §7.3).
      return { kind: 'retry', delayMs: reason.retryAfterMs ?? jitter(), refreshToken: false };
    case 'backoff':
      return {
        kind: 'retry',
        delayMs: reason.retryAfterMs === undefined ? ctx.backoff.next() : reason.retryAfterMs + jitter(),
        refreshToken: false,
      };
    case 'reauth':
      if (!ctx.canRefreshToken) return { kind: 'stop' };
      return { kind: 'retry', delayMs: reason.retryAfterMs ?? ctx.backoff.next(), refreshToken: true };
    default: {
      const never: never = reason.action;
      throw new TypeError(`unknown close action ${String(never)}`);
    }
  }
}
