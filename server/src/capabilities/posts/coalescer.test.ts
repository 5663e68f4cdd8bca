import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalescer.js';

/**
 * Drives a coalescer the way its owner does, on a simulated clock: one
 * timer, updates that take `updateMs` and read the "truth" when they start.
 */
function simulate(intervalMs: number, updateMs: number) {
  const c = new Coalescer(intervalMs);
  let now = 0;
  let timerAt: number | undefined;
  let truth = 0;
  const sent: { at: number; value: number }[] = [];
  const change = (v: number) => {
    truth = v;
    const d = c.changed(now);
    if (d !== undefined) timerAt = now + d;
  };
  /** Runs the clock to `t`, firing the timer (and whole updates) on the way. */
  const runTo = (t: number) => {
    while (timerAt !== undefined && timerAt <= t) {
      now = timerAt;
      timerAt = undefined;
      if (!c.begin()) continue;
      const read = truth;
      now += updateMs;
      sent.push({ at: now, value: read });
      const d = c.done(now);
      if (d !== undefined) timerAt = now + d;
    }
    now = t;
  };
  return { c, change, runTo, sent, timer: () => timerAt, clock: () => now };
}

describe('Coalescer', () => {
  it('sends the first change of a quiet spell at once', () => {
    const s = simulate(250, 0);
    s.change(1);
    expect(s.timer()).toBe(0);
    s.runTo(0);
    expect(s.sent).toEqual([{ at: 0, value: 1 }]);
  });

  it('never sends two updates closer than the interval under a storm of changes, and settles on the last value', () => {
    const s = simulate(250, 3);
    // A change every millisecond for five seconds.
    for (let t = 0; t < 5000; t++) {
      s.runTo(t);
      s.change(t + 1);
    }
    s.runTo(10_000);
    const gaps = s.sent.slice(1).map((u, i) => u.at - s.sent[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(250);
    // At most four a second in any window of a second.
    const inSecondFrom = (t: number) => s.sent.filter((v) => v.at >= t && v.at < t + 1000).length;
    expect(Math.max(...s.sent.map((u) => inSecondFrom(u.at)))).toBe(4);
    expect(s.sent.length).toBeGreaterThanOrEqual(19);
    expect(s.sent.length).toBeLessThanOrEqual(21);
    expect(s.sent.at(-1)?.value).toBe(5000);
    expect(s.c.idle).toBe(true);
    expect(s.timer()).toBeUndefined();
  });

  it('a change while an update is being made (after its read) makes one more update', () => {
    const c = new Coalescer(100);
    expect(c.changed(0)).toBe(0);
    expect(c.begin()).toBe(true);
    // Mid-update: no second timer, but the change is remembered.
    expect(c.changed(5)).toBeUndefined();
    expect(c.done(10)).toBe(100);
    expect(c.begin()).toBe(true);
    expect(c.done(115)).toBeUndefined();
    expect(c.idle).toBe(true);
  });

  it('a failed update is due again after the interval; a timer with nothing due sends nothing', () => {
    const c = new Coalescer(100);
    c.changed(0);
    expect(c.begin()).toBe(true);
    expect(c.done(1, true)).toBe(100);
    expect(c.idle).toBe(false);
    expect(c.begin()).toBe(true);
    expect(c.done(102)).toBeUndefined();
    expect(c.begin()).toBe(false);
    expect(c.idle).toBe(true);
  });

  it('waits out the rest of the interval after the last update', () => {
    const c = new Coalescer(250);
    c.changed(0);
    c.begin();
    c.done(10);
    expect(c.changed(100)).toBe(160);
    expect(c.changed(120)).toBeUndefined();
    expect(c.begin()).toBe(true);
    c.done(262);
    expect(c.changed(1000)).toBe(0);
  });
});
