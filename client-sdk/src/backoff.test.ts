import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff, backoffCeiling, fullJitterDelay, retryWithBackoff } from './backoff.js';

const opts = { minMs: 100, maxMs: 1000, factor: 2 };

describe('full-jitter backoff', () => {
  it('grows the window by factor per attempt and caps it at maxMs', () => {
    expect([0, 1, 2, 3, 4, 5, 50].map((n) => backoffCeiling(n, opts))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
    expect(backoffCeiling(5000, opts)).toBe(1000); // factor^n overflows to Infinity
  });

  it('draws uniformly from [0, window): random 0 gives 0, random → 1 approaches the window', () => {
    expect(fullJitterDelay(3, opts, () => 0)).toBe(0);
    expect(fullJitterDelay(3, opts, () => 0.5)).toBe(400);
    expect(fullJitterDelay(3, opts, () => 0.9999)).toBe(799);
  });

  it('spreads real random delays over the whole window', () => {
    const delays = Array.from({ length: 2000 }, () => fullJitterDelay(2, opts));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(400);
    expect(delays.filter((d) => d < 100).length).toBeGreaterThan(300); // ~500 expected
    expect(delays.filter((d) => d >= 300).length).toBeGreaterThan(300);
  });

  it('Backoff counts attempts and resets', () => {
    const b = new Backoff(opts, () => 0.5);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([50, 100, 200, 400, 500]);
    expect(b.attempt).toBe(5);
    b.reset();
    expect(b.attempt).toBe(0);
    expect(b.next()).toBe(50);
  });

  it('refuses contradictory options with one clear sentence', () => {
    expect(() => new Backoff({ minMs: 500, maxMs: 100 })).toThrow(
      'backoff.maxMs must be finite and ≥ backoff.minMs',
    );
    expect(() => new Backoff({ factor: 0.5 })).toThrow('backoff.factor must be a finite number ≥ 1');
    expect(() => new Backoff({ minMs: -1 })).toThrow('backoff.minMs must be a finite number ≥ 0');
  });
});

describe('retryWithBackoff (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits each full-jitter delay before the next attempt', async () => {
    const attempts: number[] = [];
    const done = retryWithBackoff(
      async (attempt) => {
        attempts.push(Date.now());
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return 'ok';
      },
      { backoff: opts, random: () => 0.5 },
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(attempts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(49);
    expect(attempts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1); // 50 ms: window 100 × 0.5
    expect(attempts).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(100); // window 200 × 0.5
    expect(attempts).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(199);
    expect(attempts).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1); // window 400 × 0.5
    await expect(done).resolves.toBe('ok');
    const start = attempts[0] ?? 0;
    expect(attempts.map((t) => t - start)).toEqual([0, 50, 150, 350]);
  });

  it('gives up after maxAttempts or when shouldRetry says no', async () => {
    const failing = retryWithBackoff(
      async (attempt) => {
        throw new Error(`fail ${attempt}`);
      },
      { backoff: opts, maxAttempts: 3, random: () => 0 },
    );
    const settled = expect(failing).rejects.toThrow('fail 2');
    await vi.runAllTimersAsync();
    await settled;
    let calls = 0;
    await expect(
      retryWithBackoff(
        async () => {
          calls += 1;
          throw new Error('permanent');
        },
        { shouldRetry: () => false },
      ),
    ).rejects.toThrow('permanent');
    expect(calls).toBe(1);
  });
});
