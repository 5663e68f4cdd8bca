import { ShutterError } from '@shutter/protocol';
import type { RateLimiter, RateRule } from '../../limits/rate-limiter.js';

export interface LoginLimits {
  perUsername: number;
  perAddress: number;
  windowMs: number;
}

/**
 * Failed logins per username and per client address, counted in the node's
 * `RateLimiter` (Redis with REDIS_URL: one count for the whole cluster, so
 * spreading attempts over N nodes gains nothing). `check` refuses before
 * any hashing when either key has no failure left: `rate_limited` with
 * `retryAfterMs`. A success clears the username's failures (not the
 * address's).
 *
 * - Per username: `perUsername` failures, then one more per window — a
 *   bucket of `perUsername` refilled at one failure per window, so guessing
 *   one account's password stays slow however long it goes on.
 * - Per address: `perAddress` failures per window, refilled evenly (many
 *   people may share an address: a carrier's NAT, an office).
 */
export class LoginLimiter {
  private readonly byUsername: RateRule;
  private readonly byAddress: RateRule;

  constructor(
    private readonly limiter: RateLimiter,
    limits: LoginLimits,
  ) {
    this.byUsername = { limit: limits.perUsername, periodMs: limits.perUsername * limits.windowMs };
    this.byAddress = { limit: limits.perAddress, periodMs: limits.windowMs };
  }

  /** Throws `rate_limited` when either key is out of failures. */
  async check(username: string, address: string): Promise<void> {
    const [u, a] = await Promise.all([
      this.limiter.peek(userKey(username), this.byUsername),
      address ? this.limiter.peek(addressKey(address), this.byAddress) : ({ ok: true } as const),
    ]);
    const wait = Math.max(u.ok ? 0 : u.retryAfterMs, a.ok ? 0 : a.retryAfterMs);
    if (wait > 0)
      throw new ShutterError('rate_limited', 'too many failed logins; try again later', {
        retryAfterMs: wait,
      });
  }

  /** Counts a failure against both keys (a failure that finds a key already out counts nothing more). */
  async failed(username: string, address: string): Promise<void> {
    await Promise.all([
      this.limiter.take(userKey(username), this.byUsername),
      address ? this.limiter.take(addressKey(address), this.byAddress) : undefined,
    ]);
  }

  async succeeded(username: string): Promise<void> {
    await this.limiter.reset(userKey(username));
  }
}

const userKey = (username: string) => `login-failures:u:${username}`;
const addressKey = (address: string) => `login-failures:a:${address}`;
