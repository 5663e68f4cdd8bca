/** Rate limits: the port, its two adapters, the rate classes and the client-address rule. */
export { RedisRateLimiter } from '../adapters/redis-rate-limiter.js';
export { TrustedProxies } from './client-address.js';
export { MemoryRateLimiter, type MemoryRateLimiterOptions } from './memory-rate-limiter.js';
export {
  formatRateRules,
  parseRateLimits,
  RATE_CLASSES,
  type RateClass,
  type RateRules,
} from './rate-classes.js';
export type { RateDecision, RateLimiter, RateRule } from './rate-limiter.js';
