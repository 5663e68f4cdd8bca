import type { ClientMessage, SubscribeResult } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ClientOptions, ShutterClient } from './index.js';
import { MockWebSocket } from './testing/mock-websocket.js';

/**
 * The app lifecycle (`setAppState`, `networkChanged`, sleep detected by late
 * timers) on fake timers with a socket double: every transition exact, a
 * sleep being a jump of the system clock that no timer notices.
 */
function client(options: Partial<ClientOptions> = {}) {
  return new ShutterClient({
    url: 'wss://api.example.test/ws',
    ...(options.getToken ? {} : { token: 'tok-1' }),
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

/** Opens the newest socket and welcomes it with a token that expires at `expiresAt`. */
function welcome(expiresAt = Date.now() + 3_600_000, pingIntervalMs = 25_000): MockWebSocket {
  const s = last();
  if (s.readyState !== 1) s.serverOpen();
  s.serverSend({
    t: 'welcome',
    v: 1,
    session: `s${sockets().length}`,
    user: 'u',
    expiresAt,
    node: 'n',
    limits: { maxFrameBytes: 65_536, pingIntervalMs, idleTimeoutMs: 60_000, maxSubscriptions: 100 },
  });
  return s;
}

const framesOf = <T extends ClientMessage['t']>(s: MockWebSocket, t: T) =>
  s.sent.filter((m): m is Extract<ClientMessage, { t: T }> => m.t === t);

/** Answers the newest `sub` on `s`. */
function answerSub(s: MockWebSocket, result: SubscribeResult): void {
  const sub = framesOf(s, 'sub').at(-1);
  if (!sub) throw new Error('no sub sent');
  s.serverSend({ t: 'res', id: sub.id, result });
}

const ev = (s: MockWebSocket, seq: number, epoch = 'E') =>
  s.serverSend({ t: 'ev', stream: 'user:u:inbox', epoch, seq, data: { n: seq }, ts: Date.now() });

beforeEach(() => {
  vi.useFakeTimers();
  MockWebSocket.reset();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('setAppState (fake timers)', () => {
  it('background lets the socket go at once and nothing runs; foreground resumes from the last positions, nothing twice', async () => {
    const c = client();
    const seen: number[] = [];
    const refetches: unknown[] = [];
    const sub = c.subscribe('user:u:inbox', (e) => seen.push(e.seq), { onRefetch: (i) => refetches.push(i) });
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    let s = welcome();
    answerSub(s, { status: 'fresh', epoch: 'E', seq: 0, missed: 0 });
    ev(s, 1);
    ev(s, 2);

    c.setAppState('background');
    expect(s.closedByClient).toEqual({ code: 1000, reason: 'background' });
    expect(c.state).toBe('reconnecting');
    expect(c.lastDisconnectReason).toMatchObject({ source: 'client', name: 'background', code: 10 });
    expect(sub.state).toBe('subscribing');
    expect(sub.position).toEqual({ epoch: 'E', seq: 2 });
    // Asleep: no heartbeat, no reconnect timer, no subscription retry.
    expect(vi.getTimerCount()).toBe(0);
    c.networkChanged();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(sockets()).toHaveLength(1);

    c.setAppState('foreground');
    await vi.advanceTimersByTimeAsync(0); // no backoff, no jitter
    expect(sockets()).toHaveLength(2);
    s = welcome();
    expect(framesOf(s, 'hello')[0]?.token).toBe('tok-1');
    expect(framesOf(s, 'sub')).toEqual([expect.objectContaining({ from: { epoch: 'E', seq: 2 } })]);
    answerSub(s, { status: 'recovered', epoch: 'E', seq: 4, missed: 2 });
    for (const seq of [2, 3, 4, 3]) ev(s, seq); // a replay overlapping what was handed already
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(c.state).toBe('connected');

    // Across a refetch: the history no longer reaches seq 4; nothing at or below the new position is handed.
    c.setAppState('background');
    c.setAppState('foreground');
    await vi.advanceTimersByTimeAsync(0);
    s = welcome();
    answerSub(s, { status: 'refetch', epoch: 'E', seq: 10, missed: 0 });
    for (const seq of [9, 10, 11, 11, 12]) ev(s, seq);
    expect(refetches).toEqual([
      { stream: 'user:u:inbox', epoch: 'E', seq: 10, previous: { epoch: 'E', seq: 4 } },
    ]);
    expect(seen).toEqual([1, 2, 3, 4, 11, 12]);
    c.disconnect();
  });

  it('refreshes a token that expired (or is about to) while asleep before the hello, and only then', async () => {
    let n = 0;
    const getToken = vi.fn(async () => `tok-${++n}`);
    const c = client({ getToken });
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    welcome(Date.now() + 60_000); // a 60-second token
    expect(getToken).toHaveBeenCalledTimes(1);

    // Back after 20 s: 40 s left, the token is reused.
    c.setAppState('background');
    vi.setSystemTime(Date.now() + 20_000);
    c.setAppState('foreground');
    await vi.advanceTimersByTimeAsync(0);
    expect(getToken).toHaveBeenCalledTimes(1);
    last().serverOpen();
    expect(framesOf(last(), 'hello')[0]?.token).toBe('tok-1');
    welcome(Date.now() + 40_000);

    // Back after 35 s more: 5 s left, too little for a hello; then after a long sleep, expired.
    for (const [sleptMs, expected] of [
      [35_000, 'tok-2'],
      [3_600_000, 'tok-3'],
    ] as const) {
      c.setAppState('background');
      vi.setSystemTime(Date.now() + sleptMs);
      c.setAppState('foreground');
      await vi.advanceTimersByTimeAsync(0);
      const s = last();
      s.serverOpen();
      expect(framesOf(s, 'hello')[0]?.token).toBe(expected);
      welcome(Date.now() + 60_000);
    }
    expect(getToken).toHaveBeenCalledTimes(3);
    expect(c.state).toBe('connected');
    c.disconnect();
  });

  it('a re-auth cut short by the background does not make the old token look fresh', async () => {
    const tokens = ['tok-1', 'tok-1', 'tok-2'];
    const getToken = vi.fn(async () => tokens.shift() ?? 'tok-x');
    const c = client({ getToken });
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    const s = welcome(Date.now() + 60_000);
    // The server's token_expiring notice: getToken() answers the same (cached) token, `auth` goes out...
    s.serverSend({ t: 'notice', kind: 'token_expiring', expiresAt: Date.now() + 60_000 });
    await vi.advanceTimersByTimeAsync(0);
    expect(framesOf(s, 'auth')).toEqual([expect.objectContaining({ token: 'tok-1' })]);
    // ...and the app goes to the background before the answer.
    c.setAppState('background');
    vi.setSystemTime(Date.now() + 61_000);
    c.setAppState('foreground');
    await vi.advanceTimersByTimeAsync(0);
    last().serverOpen();
    expect(getToken).toHaveBeenCalledTimes(3);
    expect(framesOf(last(), 'hello')[0]?.token).toBe('tok-2');
    c.disconnect();
  });

  it('keeps the socket through backgroundGraceMs; back within it, the socket stays and is probed', async () => {
    const c = client({ backgroundGraceMs: 3000 });
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    const s = welcome();
    c.setAppState('background');
    await vi.advanceTimersByTimeAsync(2999);
    expect(s.closedByClient).toBeUndefined();
    c.setAppState('foreground');
    expect(s.sent.at(-1)).toEqual({ t: 'ping' });
    s.serverSend({ t: 'pong' });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(s.closedByClient).toBeUndefined();
    expect(sockets()).toHaveLength(1);

    c.setAppState('background');
    await vi.advanceTimersByTimeAsync(3000);
    expect(s.closedByClient).toEqual({ code: 1000, reason: 'background' });
    c.disconnect();
  });

  it('a socket the server closes in the background is replaced only in the foreground', async () => {
    const c = client({ backgroundGraceMs: 5000 });
    const reconnects: string[] = [];
    c.on('reconnect', (r) => reconnects.push(r.reason.name));
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    welcome();
    c.setAppState('background');
    last().serverClose(4001, 'going_away retry_after_ms=100');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets()).toHaveLength(1);
    expect(reconnects).toEqual([]);
    expect(c.state).toBe('reconnecting');
    c.setAppState('foreground');
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets()).toHaveLength(2);
    c.disconnect();
  });

  it('a token that arrives after the app went to the background opens no socket', async () => {
    const tokens: ((t: string) => void)[] = [];
    const c = client({ getToken: () => new Promise<string>((r) => tokens.push(r)) });
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    c.setAppState('background');
    tokens[0]?.('tok-late');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets()).toHaveLength(0);
    c.setAppState('foreground');
    await vi.advanceTimersByTimeAsync(0);
    tokens[1]?.('tok-now');
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets()).toHaveLength(1);
    last().serverOpen();
    expect(framesOf(last(), 'hello')[0]?.token).toBe('tok-now');
    c.disconnect();
  });

  it('connect() in the background connects, but a lost socket waits for the foreground', async () => {
    const c = client();
    c.setAppState('background');
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    welcome();
    expect(c.state).toBe('connected');
    last().serverClose(1006);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(sockets()).toHaveLength(1);
    c.setAppState('foreground');
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets()).toHaveLength(2);
    c.disconnect();
  });

  it('does nothing on a client that is not connecting (never connected, or disconnect() called)', async () => {
    const c = client();
    c.setAppState('background');
    c.setAppState('foreground');
    c.networkChanged();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sockets()).toHaveLength(0);
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    welcome();
    c.disconnect();
    c.setAppState('background');
    c.setAppState('foreground');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sockets()).toHaveLength(1);
    expect(c.state).toBe('disconnected');
  });
});

describe('networkChanged and sleep detection (fake timers)', () => {
  it('probes an open socket at once and replaces it when no frame comes back within 2 s', async () => {
    const c = client(); // probeTimeoutMs 10 000, pings every 25 s
    const reconnects: { name: string; delayMs: number }[] = [];
    c.on('reconnect', (r) => reconnects.push({ name: r.reason.name, delayMs: r.delayMs }));
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    let s = welcome();
    c.networkChanged();
    expect(s.sent.at(-1)).toEqual({ t: 'ping' });
    s.serverSend({ t: 'pong' }); // alive: kept
    await vi.advanceTimersByTimeAsync(5000);
    expect(s.closedByClient).toBeUndefined();

    c.networkChanged(); // now the path is dead: nothing comes back
    await vi.advanceTimersByTimeAsync(1999);
    expect(s.closedByClient).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(s.closedByClient).toEqual({ code: 1000, reason: 'half_open' });
    expect(reconnects).toEqual([{ name: 'half_open', delayMs: 50 }]);
    await vi.advanceTimersByTimeAsync(50);
    expect(sockets()).toHaveLength(2);
    s = welcome();
    expect(c.state).toBe('connected');
    c.disconnect();
  });

  it('connects at once instead of waiting out the backoff', async () => {
    const c = client();
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 3; i++) {
      last().serverClose(1006);
      await vi.advanceTimersByTimeAsync(4000);
    }
    last().serverClose(1006); // the next attempt waits 4 000 ms (0.5 × 8 000)
    await vi.advanceTimersByTimeAsync(100);
    expect(sockets()).toHaveLength(4);
    c.networkChanged();
    await vi.advanceTimersByTimeAsync(0);
    expect(sockets()).toHaveLength(5);
    // The backoff starts over: the next failure waits 0.5 × 1 000.
    last().serverClose(1006);
    await vi.advanceTimersByTimeAsync(499);
    expect(sockets()).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(1);
    expect(sockets()).toHaveLength(6);
    c.disconnect();
  });

  it('a ping timer that fires far too late means the device slept: the socket is probed with the short deadline', async () => {
    const c = client();
    c.connect();
    await vi.advanceTimersByTimeAsync(0);
    const s = welcome();
    // Five minutes asleep: the clock jumps, the 25 s ping timer fires on waking.
    vi.setSystemTime(Date.now() + 300_000);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(s.sent.at(-1)).toEqual({ t: 'ping' });
    await vi.advanceTimersByTimeAsync(2000);
    expect(s.closedByClient).toEqual({ code: 1000, reason: 'half_open' });
    c.disconnect();
  });
});
