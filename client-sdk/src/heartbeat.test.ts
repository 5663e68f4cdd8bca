import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat, QUICK_PROBE_MS } from './heartbeat.js';

describe('Heartbeat (fake timers)', () => {
  let pings: number;
  let dead: number;
  let hb: Heartbeat;
  beforeEach(() => {
    vi.useFakeTimers();
    pings = 0;
    dead = 0;
    hb = new Heartbeat({
      intervalMs: 1000,
      probeTimeoutMs: 300,
      sendPing: () => {
        pings += 1;
      },
      onDead: () => {
        dead += 1;
      },
    });
  });
  afterEach(() => {
    hb.stop();
    vi.useRealTimers();
  });

  it('pings after intervalMs of silence on the sending side', () => {
    hb.start();
    vi.advanceTimersByTime(999);
    expect(pings).toBe(0);
    vi.advanceTimersByTime(1);
    expect(pings).toBe(1);
  });

  it('postpones the ping while frames are being sent', () => {
    hb.start();
    vi.advanceTimersByTime(700);
    hb.sent();
    vi.advanceTimersByTime(700);
    expect(pings).toBe(0);
    vi.advanceTimersByTime(300);
    expect(pings).toBe(1);
  });

  it('declares the socket dead when nothing arrives within probeTimeoutMs after a ping', () => {
    hb.start();
    vi.advanceTimersByTime(1000);
    expect(pings).toBe(1);
    vi.advanceTimersByTime(299);
    expect(dead).toBe(0);
    vi.advanceTimersByTime(1);
    expect(dead).toBe(1);
  });

  it('any received frame answers the probe; a pong for every ping keeps it alive', () => {
    hb.start();
    vi.advanceTimersByTime(1200);
    hb.received(); // 200 ms after the ping
    vi.advanceTimersByTime(700); // past where the first probe would have fired
    expect(dead).toBe(0);
    const answered = new Heartbeat({
      intervalMs: 1000,
      probeTimeoutMs: 300,
      sendPing: () => {
        pings += 1;
        setTimeout(() => answered.received(), 50);
      },
      onDead: () => {
        dead += 1;
      },
    });
    hb.stop();
    pings = 0;
    answered.start();
    vi.advanceTimersByTime(5000);
    answered.stop();
    expect(pings).toBe(5);
    expect(dead).toBe(0);
  });

  it('stop() cancels everything; interval 0 disables the heartbeat', () => {
    hb.start();
    vi.advanceTimersByTime(1000);
    hb.stop();
    vi.advanceTimersByTime(10_000);
    expect(pings).toBe(1);
    expect(dead).toBe(0);
    const off = new Heartbeat({
      intervalMs: 0,
      probeTimeoutMs: 1,
      sendPing: () => pings++,
      onDead: () => dead++,
    });
    off.start();
    vi.advanceTimersByTime(10_000);
    expect(pings).toBe(1);
  });
});

describe('Heartbeat quick probes and sleep detection (fake timers)', () => {
  let pings: number;
  let dead: number;
  let hb: Heartbeat;
  const make = (probeTimeoutMs: number) =>
    new Heartbeat({
      intervalMs: 25_000,
      probeTimeoutMs,
      sendPing: () => {
        pings += 1;
      },
      onDead: () => {
        dead += 1;
      },
    });
  beforeEach(() => {
    vi.useFakeTimers();
    pings = 0;
    dead = 0;
    hb = make(10_000);
  });
  afterEach(() => {
    hb.stop();
    vi.useRealTimers();
  });

  it('probe(true) pings at once and gives the socket QUICK_PROBE_MS, or probeTimeoutMs if shorter', () => {
    hb.start();
    hb.probe(true);
    expect(pings).toBe(1);
    vi.advanceTimersByTime(QUICK_PROBE_MS - 1);
    expect(dead).toBe(0);
    vi.advanceTimersByTime(1);
    expect(dead).toBe(1);

    const short = make(500);
    short.start();
    short.probe(true);
    vi.advanceTimersByTime(500);
    short.stop();
    expect(dead).toBe(2);
  });

  it('a quick probe shortens a regular probe already armed; a frame answers both; not running, it does nothing', () => {
    hb.start();
    vi.advanceTimersByTime(25_000); // regular ping, 10 s deadline
    expect(pings).toBe(1);
    vi.advanceTimersByTime(1000);
    hb.probe(true);
    vi.advanceTimersByTime(QUICK_PROBE_MS);
    expect(dead).toBe(1);
    hb.stop();
    expect(pings).toBe(2);

    const alive = make(10_000);
    alive.start();
    alive.probe(true);
    vi.advanceTimersByTime(100);
    alive.received();
    vi.advanceTimersByTime(20_000);
    alive.stop();
    alive.probe(true);
    vi.advanceTimersByTime(60_000);
    expect(dead).toBe(1);
    expect(pings).toBe(2 + 1);
  });

  it('a ping timer that fires more than intervalMs late (the device slept) starts a quick probe', () => {
    hb.start();
    vi.advanceTimersByTime(10_000);
    vi.setSystemTime(Date.now() + 120_000); // asleep: the clock moves, timers do not fire
    vi.advanceTimersByTime(15_000); // the ping timer fires on waking, 120 s late
    expect(pings).toBe(1);
    vi.advanceTimersByTime(QUICK_PROBE_MS);
    expect(dead).toBe(1);
  });

  it('a ping timer that is only a little late is a regular ping with the full probe deadline', () => {
    hb.start();
    vi.setSystemTime(Date.now() + 20_000); // late by less than the interval
    vi.advanceTimersByTime(25_000);
    expect(pings).toBe(1);
    vi.advanceTimersByTime(QUICK_PROBE_MS);
    expect(dead).toBe(0);
    vi.advanceTimersByTime(10_000 - QUICK_PROBE_MS);
    expect(dead).toBe(1);
  });
});
