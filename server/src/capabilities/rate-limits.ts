import { ShutterError } from '@shutter/protocol';
import type { RateClass, RateRules } from '../limits/rate-classes.js';
import type { RateLimiter, RateRule } from '../limits/rate-limiter.js';
import { onceEvery } from '../log.js';
import type { Caller, OperationAuth } from './operation.js';

/** `60 s`, `10 min`, `1 h`, `500 ms`: a period as a person reads it. */
function period(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0 && ms >= 600_000) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/**
 * The rate limits of operations (RATE_LIMITS), taken by the registry for
 * every call whatever its front door: one token from the caller's bucket of
 * the operation's class — the user's for `auth: 'user'` operations, the
 * client address's for `auth: 'none'` ones (register, login, refresh:
 * the caller may have no account yet). The buckets live in the node's
 * `RateLimiter`: Redis with REDIS_URL, so a user's limit holds across the
 * cluster, not per node.
 */
export class OperationRateLimits {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly rules: RateRules,
    private readonly unavailable: {
      /** How long a take may wait for the bucket (RATE_LIMIT_TIMEOUT_MS). */
      timeoutMs: number;
      /** Told when a bucket did not answer in time or failed: the call went through. */
      onUnavailable: (rateClass: RateClass, err: unknown) => void;
    } = { timeoutMs: 250, onUnavailable: () => {} },
  ) {}

  /**
   * Throws `rate_limited` (with `retryAfterMs` and `details.rateClass`) when
   * the bucket is empty. A bucket that does not answer within `timeoutMs`
   * or fails lets the call through: a stalled Redis must not stall every
   * write of the cluster, and a limit is a guard, not the work.
   */
  async take(op: { rate: RateClass; auth: OperationAuth }, caller: Caller): Promise<void> {
    const rule = this.rules[op.rate];
    if (!rule) return;
    const who = op.auth === 'none' ? `a:${caller.address || 'unknown'}` : `u:${caller.userId}`;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.unavailable.timeoutMs);
    });
    const taking = this.limiter.take(`${op.rate}:${who}`, rule);
    let d: Awaited<typeof taking> | 'late';
    try {
      d = await Promise.race([taking, late]);
    } catch (err) {
      this.unavailable.onUnavailable(op.rate, err);
      return;
    } finally {
      clearTimeout(timer);
    }
    if (d === 'late') {
      taking.catch(() => {});
      this.unavailable.onUnavailable(op.rate, new Error(`no answer in ${this.unavailable.timeoutMs} ms`));
      return;
    }
    if (!d.ok) throw refusal(op.rate, op.auth === 'none' ? 'address' : 'user', rule, d.retryAfterMs);
  }
}

function refusal(
  rateClass: RateClass,
  who: 'user' | 'address',
  rule: RateRule,
  retryAfterMs: number,
): ShutterError {
  return new ShutterError(
    'rate_limited',
    `too many ${rateClass} requests from this ${who}: ${rule.limit} per ${period(rule.periodMs)}; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
    { retryAfterMs, details: { rateClass } },
  );
}

/**
 * What a node does when a bucket cannot answer: counts it (`stats`, for
 * `/metrics`) and logs it, at most once per `logEveryMs`, since a stalled
 * Redis would otherwise log every call.
 */
export function unavailableBuckets(
  log: { warn(obj: object, msg: string): void },
  timeoutMs: number,
  logEveryMs = 10_000,
) {
  const stats = { unavailable: 0 };
  const mayLog = onceEvery(logEveryMs);
  return {
    stats,
    timeoutMs,
    onUnavailable(rateClass: RateClass, err: unknown): void {
      stats.unavailable++;
      if (!mayLog()) return;
      log.warn(
        { err, rateClass, unavailable: stats.unavailable },
        'a rate-limit bucket did not answer: calls go through unlimited meanwhile',
      );
    },
  };
}
