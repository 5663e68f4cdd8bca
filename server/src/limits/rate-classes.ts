import type { RateRule } from './rate-limiter.js';

/**
 * The rate classes, each with its default rule (`off`: unlimited). Every
 * operation takes from one class (`defineOperation`'s `rate`; by default
 * `read` for a GET route, `write` for any other): per user for `auth: 'user'`
 * operations, per client address for `auth: 'none'` ones. RATE_LIMITS
 * overrides any of them. A new class is one line here.
 */
export const RATE_CLASSES = {
  /** Reads (GET routes): unlimited unless configured; the per-node request bucket still applies. */
  read: 'off',
  /** The design's rule: 100 writes a minute per user, across the cluster. */
  write: '100/60s',
  /** Sign-in attempts per client address, whatever their outcome (each costs a password hash). */
  login: '60/60s',
  /** Registrations per client address (generous: many phones share a carrier's address). */
  register: '50/1h',
  /** Refresh and logout per client address: cheap, and a carrier's address carries many sessions. */
  session: 'off',
  /** Location updates (nearby friends): one a second per user on average, across the cluster; an app sends one every few seconds. */
  location: '60/60s',
} as const satisfies Record<string, string>;

export type RateClass = keyof typeof RATE_CLASSES;

/** The rule of every class (undefined: unlimited). */
export type RateRules = { readonly [C in RateClass]: RateRule | undefined };

const CLASSES = Object.keys(RATE_CLASSES) as RateClass[];
const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const MAX_LIMIT = 1_000_000;
const MAX_PERIOD_MS = 86_400_000;

export function isRateClass(name: string): name is RateClass {
  return Object.hasOwn(RATE_CLASSES, name);
}

/** `100/60s` → `{ limit: 100, periodMs: 60000 }`; `off` → undefined; a problem as a sentence's tail. */
function parseRule(text: string): { rule: RateRule | undefined } | { problem: string } {
  if (text === 'off') return { rule: undefined };
  const m = /^(\d+)\/(\d*)(ms|s|m|h)$/.exec(text);
  if (!m) return { problem: 'is not a limit per period (100/60s, 20/10m, 5/1h) or off' };
  const limit = Number(m[1]);
  const periodMs = Number(m[2] || '1') * UNITS[m[3] as keyof typeof UNITS];
  if (limit < 1 || limit > MAX_LIMIT)
    return { problem: `allows ${m[1]}; the limit must be 1 to ${MAX_LIMIT}` };
  if (periodMs < 1 || periodMs > MAX_PERIOD_MS)
    return { problem: `lasts ${m[2] || '1'}${m[3]}; the period must be 1 ms to 24 h` };
  return { rule: { limit, periodMs } };
}

/**
 * The rules RATE_LIMITS gives (`write=200/60s,read=600/60s,register=off`),
 * over the defaults of `RATE_CLASSES`. Every problem is one sentence.
 */
export function parseRateLimits(text: string): { rules: RateRules; problems: string[] } {
  const rules = Object.fromEntries(
    CLASSES.map((c) => [c, (parseRule(RATE_CLASSES[c]) as { rule: RateRule | undefined }).rule]),
  ) as Record<RateClass, RateRule | undefined>;
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const item of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (eq < 0) {
      problems.push(`RATE_LIMITS: "${item}" must be class=limit/period, like write=100/60s, or class=off.`);
    } else if (!isRateClass(name)) {
      problems.push(`RATE_LIMITS names "${name}", which is not a rate class (${CLASSES.join(', ')}).`);
    } else if (seen.has(name)) {
      problems.push(`RATE_LIMITS gives "${name}" twice.`);
    } else {
      seen.add(name);
      const r = parseRule(value);
      if ('problem' in r) problems.push(`RATE_LIMITS: ${name}=${value} ${r.problem}.`);
      else rules[name] = r.rule;
    }
  }
  return { rules, problems };
}

/** The rules as RATE_LIMITS would give them, every class named (`read=off,write=100/60s,…`). */
export function formatRateRules(rules: RateRules): string {
  return CLASSES.map((c) => {
    const r = rules[c];
    if (!r) return `${c}=off`;
    const [n, unit] =
      r.periodMs % 3_600_000 === 0
        ? [r.periodMs / 3_600_000, 'h']
        : r.periodMs % 1000 === 0
          ? [r.periodMs / 1000, 's']
          : [r.periodMs, 'ms'];
    return `${c}=${r.limit}/${n}${unit}`;
  }).join(',');
}
