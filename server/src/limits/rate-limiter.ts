/**
 * `limit` takes per `periodMs`: a bucket of `limit` tokens that refills
 * evenly, one token every `periodMs / limit` ms. A key that has taken
 * nothing for a while holds the whole `limit` at once (the burst).
 */
export interface RateRule {
  readonly limit: number;
  readonly periodMs: number;
}

/** A take's answer: allowed, or refused with the wait after which the same take is allowed. */
export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * The rate-limit port: one token bucket per key, shared by every node that
 * shares the adapter's store. Adapters: `RedisRateLimiter` (one Lua script,
 * Redis's clock; `server/src/adapters/redis-rate-limiter.ts`), shared by the
 * cluster, and `MemoryRateLimiter` (this node only, the embedded default).
 * `node-stores.ts` chooses; both pass `rateLimiterContract`.
 *
 * Contract:
 * - `take(key, rule, cost)` is allowed when the key's bucket holds `cost`
 *   tokens, and then takes them, atomically: concurrent takes of one key,
 *   from any node, never allow more than the rule.
 * - A refusal takes nothing and carries `retryAfterMs`, an honest hint: once
 *   that much time has passed, the same take is allowed (unless something
 *   else took from the key meanwhile).
 * - `peek(key, rule)` answers what `take(key, rule, 1)` would, taking nothing.
 * - `reset(key)` fills the key's bucket again.
 * - A key whose bucket is full again costs no memory: Redis lets it expire,
 *   memory forgets it. Memory also bounds the keys it holds (forgetting the
 *   oldest: a forgotten key starts full, so an overflow errs toward allowing).
 * - `cost` is a whole number from 1 to `rule.limit` (anything else throws
 *   `RangeError`: a take that could never be allowed has no honest hint).
 * - A key belongs to one rule: callers put the rule's name in the key.
 */
export interface RateLimiter {
  readonly kind: 'redis' | 'memory';
  take(key: string, rule: RateRule, cost?: number): Promise<RateDecision>;
  peek(key: string, rule: RateRule): Promise<RateDecision>;
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Throws `RangeError` unless `cost` is a whole number from 1 to the rule's limit. */
export function checkCost(rule: RateRule, cost: number): void {
  if (!Number.isInteger(cost) || cost < 1 || cost > rule.limit)
    throw new RangeError(`a rate-limit take costs 1 to ${rule.limit} tokens (got ${cost})`);
}

/**
 * One step of GCRA (the generic cell rate algorithm), the token bucket kept
 * as a single number per key: `tat`, the time at which the bucket is full
 * again (absent: full now). A take of `cost` moves it `cost` intervals
 * later, allowed while it stays within one period of `now`. Answers the
 * decision and, when allowed, the new `tat`. The Redis adapter's Lua script
 * is the same arithmetic.
 */
export function gcra(
  tat: number | undefined,
  now: number,
  rule: RateRule,
  cost: number,
): { ok: true; tat: number } | { ok: false; retryAfterMs: number } {
  const next = Math.max(tat ?? now, now) + (cost * rule.periodMs) / rule.limit;
  const allowedAt = next - rule.periodMs;
  if (allowedAt > now) return { ok: false, retryAfterMs: Math.ceil(allowedAt - now) };
  return { ok: true, tat: next };
}
