import { ShutterError } from '@shutter/protocol';

export interface LoginLimits {
  perUsername: number;
  perAddress: number;
  windowMs: number;
}

/** Keys tracked at most: past this the oldest are forgotten (memory stays bounded under a spray). */
const MAX_KEYS = 100_000;

/**
 * Failed logins per username and per client address, in a sliding window
 * (the times of the last `limit` failures of each key). A key with `limit`
 * failures inside the window is refused until the oldest leaves it:
 * `rate_limited` with `retryAfterMs`. A success clears the username's
 * failures (not the address's).
 *
 * In memory, one per node: in a cluster each node counts its own, so an
 * attacker spread over N nodes gets N times the allowance. The engagement
 * issue moves rate limits to Redis.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number,
  ) {}

  /** Throws `rate_limited` when either key is over its limit. */
  check(username: string, address: string): void {
    const wait = Math.max(
      this.wait(`u:${username}`, this.limits.perUsername),
      address ? this.wait(`a:${address}`, this.limits.perAddress) : 0,
    );
    if (wait > 0)
      throw new ShutterError('rate_limited', 'too many failed logins; try again later', {
        retryAfterMs: wait,
      });
  }

  failed(username: string, address: string): void {
    this.add(`u:${username}`, this.limits.perUsername);
    if (address) this.add(`a:${address}`, this.limits.perAddress);
  }

  succeeded(username: string): void {
    this.failures.delete(`u:${username}`);
  }

  private live(key: string): number[] {
    const since = this.now() - this.limits.windowMs;
    const times = (this.failures.get(key) ?? []).filter((t) => t > since);
    if (times.length === 0) this.failures.delete(key);
    return times;
  }

  private wait(key: string, limit: number): number {
    const times = this.live(key);
    if (times.length < limit) return 0;
    return Math.max(1, times[times.length - limit]! + this.limits.windowMs - this.now());
  }

  private add(key: string, limit: number): void {
    const times = this.live(key);
    times.push(this.now());
    // Re-inserted last: the map's order is least recently failed first.
    this.failures.delete(key);
    this.failures.set(key, times.slice(-limit));
    while (this.failures.size > MAX_KEYS) this.failures.delete(this.failures.keys().next().value!);
  }
}
