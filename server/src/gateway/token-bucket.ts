/** The two numbers a token bucket is: tokens left, and when they were counted. */
export interface BucketState {
  tokens: number;
  tokensAt: number;
}

/**
 * Takes one token from `b` (refilled at `rate` per second up to `burst`).
 * Answers 0 when allowed, or the milliseconds until a token will be there.
 * A plain function over two fields, so a connection can carry its bucket
 * inline instead of as an object of its own.
 */
export function takeToken(b: BucketState, now: number, rate: number, burst: number): number {
  const elapsed = now - b.tokensAt;
  if (elapsed > 0) {
    b.tokens = Math.min(burst, b.tokens + (elapsed * rate) / 1000);
    b.tokensAt = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return Math.ceil(((1 - b.tokens) * 1000) / rate);
}

/** A token bucket with its own rate: `rate` tokens per second up to `burst`. */
export class TokenBucket implements BucketState {
  tokens: number;
  tokensAt: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.tokensAt = now;
  }

  take(now: number): number {
    return takeToken(this, now, this.rate, this.burst);
  }

  idleSince(now: number): number {
    return now - this.tokensAt;
  }
}

/** One bucket per key (user), dropped when full again so idle users cost nothing. */
export class BucketMap {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {}

  take(key: string, now: number): number {
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = new TokenBucket(this.rate, this.burst, now)));
    return b.take(now);
  }

  /** Forget buckets idle long enough to be full (called by the gateway's sweep). */
  prune(now: number): void {
    const fullAfterMs = (this.burst / this.rate) * 1000;
    for (const [k, b] of this.buckets) if (b.idleSince(now) > fullAfterMs) this.buckets.delete(k);
  }
}
