import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { RateDecision, RateLimiter, RateRule } from './rate-limiter.js';

/** At least `ms` of real time (a timer may fire a little early by the wall clock). */
async function waitAtLeast(ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until)
    await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(until - performance.now()))));
}

const okCount = (ds: RateDecision[]) => ds.filter((d) => d.ok).length;
const waitOf = (d: RateDecision) => (d.ok ? 0 : d.retryAfterMs);

/**
 * The contract every `RateLimiter` adapter passes (see the port's comment),
 * on the real clock. `open` answers two handles on one store — two nodes'
 * connections to the same Redis, or one memory limiter twice — and takes
 * alternate between them.
 */
export function rateLimiterContract(
  name: string,
  open: () => Promise<{ a: RateLimiter; b: RateLimiter; close(): Promise<void> }>,
  unique: () => string,
) {
  describe(`RateLimiter contract: ${name}`, () => {
    it('allows the limit at once, then refuses with a hint of at most one interval', async () => {
      const s = await open();
      const rule: RateRule = { limit: 5, periodMs: 60_000 };
      const k = unique();
      const first = await Promise.all([0, 1, 2, 3, 4].map((i) => (i % 2 ? s.b : s.a).take(k, rule)));
      expect(okCount(first)).toBe(5);
      const refused = await s.b.take(k, rule);
      expect(refused.ok).toBe(false);
      expect(waitOf(refused)).toBeGreaterThan(11_000);
      expect(waitOf(refused)).toBeLessThanOrEqual(12_000);
      // Other keys are untouched.
      expect((await s.a.take(unique(), rule)).ok).toBe(true);
      await s.close();
    });

    it('gives an honest hint: after it passes the same take is allowed, on either handle', async () => {
      const s = await open();
      const rule: RateRule = { limit: 4, periodMs: 400 };
      const k = unique();
      for (let i = 0; i < 4; i++) expect((await (i % 2 ? s.b : s.a).take(k, rule)).ok).toBe(true);
      for (const cost of [1, 3]) {
        const refused = await s.a.take(k, rule, cost);
        expect(refused.ok).toBe(false);
        expect(waitOf(refused)).toBeLessThanOrEqual(cost * 100);
        await waitAtLeast(waitOf(refused));
        expect(await s.b.take(k, rule, cost)).toEqual({ ok: true });
      }
      await s.close();
    });

    it('never allows more than the rule under concurrent takes from both handles', async () => {
      const s = await open();
      const rule: RateRule = { limit: 10, periodMs: 60_000 };
      const k = unique();
      const all = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? s.b : s.a).take(k, rule)));
      expect(okCount(all)).toBe(10);
      // With costs: 7 tokens in takes of 3 and 2 from a fresh key of 7.
      const k2 = unique();
      const seven: RateRule = { limit: 7, periodMs: 60_000 };
      const costs = [3, 2, 3, 2, 3, 2, 3, 2];
      const mixed = await Promise.all(costs.map((c, i) => (i % 2 ? s.b : s.a).take(k2, seven, c)));
      const taken = mixed.reduce((sum, d, i) => sum + (d.ok ? costs[i]! : 0), 0);
      expect(taken).toBeLessThanOrEqual(7);
      expect(taken).toBeGreaterThanOrEqual(5);
      await s.close();
    });

    it('takes nothing on a refusal or a peek; reset fills the bucket', async () => {
      const s = await open();
      const rule: RateRule = { limit: 3, periodMs: 60_000 };
      const k = unique();
      for (let i = 0; i < 10; i++) expect((await s.a.peek(k, rule)).ok).toBe(true);
      expect((await s.a.take(k, rule, 2)).ok).toBe(true);
      // One token left: a take of 2 is refused and takes nothing, so a take of 1 still fits.
      expect((await s.b.take(k, rule, 2)).ok).toBe(false);
      expect((await s.b.peek(k, rule)).ok).toBe(true);
      expect((await s.a.take(k, rule)).ok).toBe(true);
      const peeked = await s.b.peek(k, rule);
      const taken = await s.a.take(k, rule);
      expect(peeked.ok).toBe(false);
      expect(taken.ok).toBe(false);
      expect(Math.abs(waitOf(peeked) - waitOf(taken))).toBeLessThan(50);
      await s.b.reset(k);
      const again = await Promise.all([s.a.take(k, rule), s.b.take(k, rule), s.a.take(k, rule)]);
      expect(okCount(again)).toBe(3);
      await s.close();
    });

    it('refuses a cost that no bucket of the rule could hold', async () => {
      const s = await open();
      const rule: RateRule = { limit: 3, periodMs: 1000 };
      for (const cost of [0, 4, 1.5, -1])
        await expect(s.a.take(unique(), rule, cost)).rejects.toBeInstanceOf(RangeError);
      await s.close();
    });
  });
}
