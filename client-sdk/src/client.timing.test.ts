import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ShutterClient } from './client.js';
import { MockWebSocket } from './testing/mock-websocket.js';

/** Reconnect timing on fake timers with a socket double: exact, no sleeping. */
function client(options: Partial<ConstructorParameters<typeof ShutterClient>[0]> = {}) {
  return new ShutterClient({
    url: 'wss://api.example.test/ws',
    token: 'tok-t',
    WebSocket: MockWebSocket,
    backoff: { minMs: 1000, maxMs: 8000, factor: 2 },
    resumeJitterMs: 100,
    random: () => 0.5,
    ...options,
  });
}

const sockets = () => MockWebSocket.instances;
const last = () => {
  const s = sockets().at(-1);
  if (!s) throw new Error('no socket');
  return s;
};

describe('reconnect timing (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    MockWebSocket.reset();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sets binaryType arraybuffer, offers one subprotocol and keeps the token out of the URL', async () => {
    const c = client({ codec: 'json' });
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    const s = last();
    expect(s.binaryType).toBe('arraybuffer');
    expect(s.protocols).toEqual(['shutter.v1.json', 'shutter.v1.msgpack']);
    expect(s.url).toBe('wss://api.example.test/ws');
    s.serverOpen();
    expect(s.sent).toEqual([{ t: 'hello', v: 1, token: 'tok-t' }]);
    c.disconnect();
  });

  it('honours retry_after_ms in the close reason to the millisecond (plus jitter)', async () => {
    const c = client();
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    last().serverWelcome();
    last().serverClose(4503, 'over_capacity retry_after_ms=5000');
    await vi.advanceTimersByTimeAsync(5049); // 5000 + 0.5 × 100 jitter
    expect(sockets()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets()).toHaveLength(2);
    c.disconnect();
  });

  it('grows full-jitter windows on repeated abnormal closes and caps them at maxMs', async () => {
    const c = client();
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    const gaps: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = last();
      s.serverClose(1006);
      const before = sockets().length;
      const t0 = Date.now();
      while (sockets().length === before) await vi.advanceTimersByTimeAsync(1);
      gaps.push(Date.now() - t0);
    }
    // random 0.5 of windows 1000, 2000, 4000, 8000, 8000.
    expect(gaps).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(c.state).toBe('connecting');
    c.disconnect();
  });

  it('keeps growing the backoff when the server welcomes and closes at once (not a stable connection)', async () => {
    const c = client({ stableConnectionMs: 5000 });
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    const gaps: number[] = [];
    for (let i = 0; i < 4; i++) {
      const s = last();
      s.serverWelcome();
      s.serverClose(4400, 'protocol_error');
      const before = sockets().length;
      const t0 = Date.now();
      while (sockets().length === before) await vi.advanceTimersByTimeAsync(1);
      gaps.push(Date.now() - t0);
    }
    expect(gaps).toEqual([500, 1000, 2000, 4000]);
    // Stable for 5 s: the next failure starts from the first window again.
    last().serverWelcome();
    await vi.advanceTimersByTimeAsync(5000);
    last().serverClose(4400, 'protocol_error');
    const t0 = Date.now();
    const before = sockets().length;
    while (sockets().length === before) await vi.advanceTimersByTimeAsync(1);
    expect(Date.now() - t0).toBe(500);
    c.disconnect();
  });

  it('a half-open socket is closed by the client after pingIntervalMs + probeTimeoutMs', async () => {
    const c = client({ probeTimeoutMs: 3000 });
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    const s = last();
    s.serverWelcome(10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(s.sent.at(-1)).toEqual({ t: 'ping' });
    await vi.advanceTimersByTimeAsync(2999);
    expect(s.closedByClient).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(s.closedByClient).toEqual({ code: 1000, reason: 'half_open' });
    expect(c.state).toBe('reconnecting');
    c.disconnect();
  });

  it('does not ping while the client keeps sending other frames', async () => {
    const c = client();
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    const s = last();
    s.serverWelcome(1000);
    for (let i = 0; i < 10; i++) {
      // Left unanswered: disconnect() below fails them, which this test does not look at.
      c.call('system.echo', { text: String(i) }, { timeoutMs: 60_000 }).catch(() => {});
      await vi.advanceTimersByTimeAsync(900);
    }
    expect(s.sent.filter((m) => m.t === 'ping')).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    expect(s.sent.at(-1)).toEqual({ t: 'ping' });
    c.disconnect();
  });

  it('gives up a handshake that gets no welcome within connectTimeoutMs, then backs off', async () => {
    const c = client({ connectTimeoutMs: 4000 });
    const reasons: string[] = [];
    c.on('reconnect', (r) => reasons.push(r.reason.name));
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    last().serverOpen();
    await vi.advanceTimersByTimeAsync(4000);
    expect(reasons).toEqual(['handshake_timeout']);
    expect(last().closedByClient).toBeDefined();
    c.disconnect();
  });

  it('ready(timeoutMs) rejects with timeout while the server stays away', async () => {
    const c = client();
    c.connect();
    const ready = c.ready(2000);
    const settled = expect(ready).rejects.toMatchObject({ code: 'timeout' });
    await vi.advanceTimersByTimeAsync(2000);
    await settled;
    c.disconnect();
  });
});
