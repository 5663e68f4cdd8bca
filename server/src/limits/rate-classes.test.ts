import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config/index.js';
import { formatRateRules, parseRateLimits } from './rate-classes.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
};

describe('RATE_LIMITS', () => {
  it('has the design’s 100 writes a minute per user by default, reads unlimited', () => {
    const { rules, problems } = parseRateLimits('');
    expect(problems).toEqual([]);
    expect(rules.write).toEqual({ limit: 100, periodMs: 60_000 });
    expect(rules.read).toBeUndefined();
    expect(rules.register).toEqual({ limit: 50, periodMs: 3_600_000 });
    expect(formatRateRules(rules)).toBe(
      'read=off,write=100/60s,login=60/60s,register=50/1h,session=off,location=60/60s',
    );
    expect(loadConfig({}).limits.rateLimits).toEqual(rules);
  });

  it('overrides the classes it names, in every unit, and keeps the others', () => {
    const { rules, problems } = parseRateLimits(
      ' write = 10/60s , read=600/1m,register=off, login=5/500ms,session=3/h',
    );
    expect(problems).toEqual([]);
    expect(rules).toEqual({
      write: { limit: 10, periodMs: 60_000 },
      read: { limit: 600, periodMs: 60_000 },
      register: undefined,
      login: { limit: 5, periodMs: 500 },
      session: { limit: 3, periodMs: 3_600_000 },
      location: { limit: 60, periodMs: 60_000 },
    });
    expect(loadConfig({ RATE_LIMITS: 'write=10/60s' }).limits.rateLimits.write).toEqual({
      limit: 10,
      periodMs: 60_000,
    });
  });

  it('says each problem in one sentence, and the start refuses them all', () => {
    const bad = 'writes=10/60s,write=ten/60s,read,login=0/1s,register=5/25h,write=1/1s,session=5/60x';
    const expected = [
      'RATE_LIMITS names "writes", which is not a rate class (read, write, login, register, session, location).',
      'RATE_LIMITS: write=ten/60s is not a limit per period (100/60s, 20/10m, 5/1h) or off.',
      'RATE_LIMITS: "read" must be class=limit/period, like write=100/60s, or class=off.',
      'RATE_LIMITS: login=0/1s allows 0; the limit must be 1 to 1000000.',
      'RATE_LIMITS: register=5/25h lasts 25h; the period must be 1 ms to 24 h.',
      'RATE_LIMITS gives "write" twice.',
      'RATE_LIMITS: session=5/60x is not a limit per period (100/60s, 20/10m, 5/1h) or off.',
    ];
    expect(parseRateLimits(bad).problems).toEqual(expected);
    expect(problemsOf({ RATE_LIMITS: bad, PORT: 'x' })).toEqual([
      'PORT must be an integer from 0 to 65535 (got "x").',
      ...expected,
    ]);
  });
});

describe('TRUSTED_PROXIES', () => {
  it('takes addresses and ranges, and names each bad entry', () => {
    expect(loadConfig({ TRUSTED_PROXIES: '10.0.0.0/8, ::1,fd00::/8' }).limits.trustedProxies).toEqual([
      '10.0.0.0/8',
      '::1',
      'fd00::/8',
    ]);
    expect(problemsOf({ TRUSTED_PROXIES: 'lb.internal,10.0.0.0/33,10.0.0.1' })).toEqual([
      'TRUSTED_PROXIES: "lb.internal" is not an IP address or a range such as 10.0.0.0/8.',
      'TRUSTED_PROXIES: "10.0.0.0/33" has a prefix length outside 0–32.',
    ]);
  });
});
