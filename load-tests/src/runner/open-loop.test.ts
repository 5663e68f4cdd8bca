import { describe, expect, it } from 'vitest';
import { openLoop } from './open-loop.js';

describe('openLoop', () => {
  it('sends each call at its scheduled time, so an instant answer has a latency near zero, not one interval', async () => {
    // 10 a second: an interval of 100 ms. Each call used to leave one interval after its scheduled time.
    const sentAt: number[] = [];
    const t0 = performance.now();
    const r = await openLoop(10, 0.5, async () => {
      sentAt.push(performance.now() - t0);
    });
    expect(r.sent).toBe(5);
    expect(r.failed).toBe(0);
    expect(sentAt[0]).toBeLessThan(20);
    // Timer slop only (a few ms); the bug gave 100 ms for every call.
    expect(r.h.quantile(0.5)).toBeLessThan(50);
    for (const [i, at] of sentAt.entries()) expect(at).toBeGreaterThanOrEqual(i * 100 - 1);
  });
});
