import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from './heartbeat.js';

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
