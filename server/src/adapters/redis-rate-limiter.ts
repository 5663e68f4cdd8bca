import type { Redis } from 'ioredis';
import { checkCost, type RateDecision, type RateLimiter, type RateRule } from '../limits/rate-limiter.js';

/**
 * GCRA (`gcra` in limits/rate-limiter.ts) in one script, so a take is atomic
 * whichever node sends it, on Redis's clock (`TIME`), so nodes whose clocks
 * differ still share one bucket honestly. The key holds the `tat` in ms with
 * three decimals and expires when the bucket is full again.
 * KEYS: bucket. ARGV: limit, period ms, cost (0: peek at a take of 1).
 * Answers {1} or {0, retry after ms}.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local peek = cost == 0
if peek then cost = 1 end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nextTat = tat + cost * period / limit
local allowedAt = nextTat - period
if allowedAt > now then return {0, math.ceil(allowedAt - now)} end
if not peek then
  redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now))
end
return {1}`;

type WithScripts = Redis & {
  rateTake(key: string, limit: number, periodMs: number, cost: number): Promise<[number, number?]>;
};

/**
 * The `RateLimiter` a cluster shares: one string key per bucket,
 * `<prefix>:rl:<key>`, holding its `tat`, with a TTL that ends when the
 * bucket is full again, so idle keys vanish. One round trip per take.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly kind = 'redis' as const;
  private readonly r: WithScripts;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('rateTake', { numberOfKeys: 1, lua: TAKE });
    this.r = redis as WithScripts;
  }

  async take(key: string, rule: RateRule, cost = 1): Promise<RateDecision> {
    checkCost(rule, cost);
    return this.run(key, rule, cost);
  }

  peek(key: string, rule: RateRule): Promise<RateDecision> {
    return this.run(key, rule, 0);
  }

  async reset(key: string): Promise<void> {
    await this.r.del(this.key(key));
  }

  /** The connection is the node's, closed by whoever opened it. */
  async close(): Promise<void> {}

  private async run(key: string, rule: RateRule, cost: number): Promise<RateDecision> {
    const [ok, wait] = await this.r.rateTake(this.key(key), rule.limit, rule.periodMs, cost);
    return ok === 1 ? { ok: true } : { ok: false, retryAfterMs: wait ?? 1 };
  }

  private key(key: string): string {
    return `${this.prefix}:rl:${key}`;
  }
}
