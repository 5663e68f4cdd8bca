import { checkProxyEntry } from '../limits/client-address.js';
import { formatRateRules, parseRateLimits, type RateRules } from '../limits/rate-classes.js';
import { int, ParseFailure, type Setting } from './settings.js';

/** RATE_LIMITS: class=limit/period pairs over the defaults of `RATE_CLASSES`. */
function rateLimits(env: string, doc: string): Setting<RateRules> {
  const defaults = parseRateLimits('').rules;
  return {
    env,
    doc,
    allowed: 'a comma-separated list of class=limit/period (units ms, s, m, h) or class=off',
    default: defaults,
    shownDefault: formatRateRules(defaults),
    parse(raw) {
      const { rules, problems } = parseRateLimits(raw);
      return problems.length > 0 ? new ParseFailure('', problems) : rules;
    },
  };
}

/** TRUSTED_PROXIES: addresses and ranges, each checked. */
function proxies(env: string, doc: string): Setting<string[]> {
  return {
    env,
    doc,
    allowed: 'a comma-separated list of IP addresses and ranges (10.0.0.0/8)',
    default: [],
    parse(raw) {
      const entries = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const problems = entries.flatMap((e) => {
        const p = checkProxyEntry(e);
        return p ? [`TRUSTED_PROXIES: ${p}.`] : [];
      });
      return problems.length > 0 ? new ParseFailure('', problems) : entries;
    },
  };
}

/** Rate limits per user and per client address, shared by the cluster (issue 10 §7). */
export const limitSettings = {
  rateLimits: rateLimits(
    'RATE_LIMITS',
    "Requests allowed per rate class, e.g. write=100/60s,read=600/60s: a bucket of `limit` that refills evenly over the period. Classes: read (GET routes), write (the rest) and location (location updates) per user; login, register and session (refresh, logout) per client address. Counted across the cluster in Redis with REDIS_URL, else in this node's memory. Classes not named keep the default shown; off means unlimited. The per-node RATE_USER_* and per-connection RATE_CONNECTION_* buckets apply as well.",
  ),
  timeoutMs: int(
    'RATE_LIMIT_TIMEOUT_MS',
    250,
    10,
    10_000,
    'How long a call waits for its rate-limit bucket (Redis). A bucket that does not answer in time, or fails, lets the call through (logged, counted in shutter_rate_limit_unavailable_total): a stalled Redis must not stall every write.',
  ),
  memoryKeys: int(
    'RATE_LIMIT_MEMORY_KEYS',
    100_000,
    100,
    100_000_000,
    "Without REDIS_URL: rate-limit buckets held in the node's memory at most (a bucket is forgotten once full again; past this some are forgotten early, and a forgotten bucket starts full: it errs toward allowing).",
  ),
  trustedProxies: proxies(
    'TRUSTED_PROXIES',
    "Load balancers and proxies in front of the nodes (addresses or ranges). A request whose peer is one of them is taken to come from the address its X-Forwarded-For names (right to left, skipping these): per-address limits (login, register) then count clients, not the balancer. Empty: the peer's address, and X-Forwarded-For is ignored (it could be forged).",
  ),
};
