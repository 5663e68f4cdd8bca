import { CloseCode } from '@shutter/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';

describe.each(TRANSPORTS)('gateway limits on %s', (transport) => {
  let node: ShutterNode | undefined;
  const clients: RawClient[] = [];
  const start = async (env: Record<string, string> = {}) => {
    node = await startTestNode(transport, env);
    return node;
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await node?.shutdown();
    node = undefined;
  });
  const open = async (n: ShutterNode, user: string, codec: 'json' | 'msgpack' = 'msgpack') => {
    const c = await RawClient.open(wsUrl(n), await devToken(n, user), codec);
    clients.push(c);
    return c;
  };

  it('cuts off a slow consumer with slow_consumer while a fast one misses nothing', async () => {
    const n = await start({ SEND_BUFFER_BYTES: String(256 * 1024), RATE_CONNECTION_BURST: '1000' });
    const stream = 'topic:firehose';
    const fast = await open(n, 'fast');
    const slow = await open(n, 'slow');
    await fast.call({ t: 'sub', stream });
    await slow.call({ t: 'sub', stream });
    // The slow client stops reading: its kernel buffers fill, then the server's queue.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(32 * 1024);
    const total = 800; // ~26 MB: far past loopback socket buffers and the 256 KiB send buffer
    // The fast client lives in this process and reads only when the publisher yields, so the
    // publisher waits for it after every 4 events (128 KiB, half the send buffer): whatever the
    // kernel's loopback buffers hold at the time, the fast socket's queue never nears the limit.
    // (Yielding once every 20 events left 640 KiB per burst to the kernel, and CI cut the fast one.)
    for (let i = 1; i <= total; i++) {
      await n.hub.publish(stream, { i, payload });
      if (i % 4 === 0) await fast.next((m) => m.t === 'ev' && m.seq === i, 30_000);
    }
    await fast.next((m) => m.t === 'ev' && m.seq === total, 30_000);
    expect(fast.events(stream).map((e) => e.seq)).toEqual([...Array(total).keys()].map((i) => i + 1));
    // Let the sweep (once a second) see the slow socket's queue; its close arrives once it reads again.
    await new Promise((r) => setTimeout(r, 2000));
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await slow.waitClosed(15_000);
    expect([CloseCode.slow_consumer.code, 1006]).toContain(closed.code);
    expect(n.gateway.counters.slowConsumers).toBeGreaterThanOrEqual(1);
    expect(n.gateway.connectionCount).toBe(1);
  });

  it('answers an oversized frame with frame_too_large and closes; a far larger one is cut by the engine', async () => {
    const n = await start({ MAX_FRAME_BYTES: '1024' });
    const c = await open(n, 'big');
    c.sendRaw(new Uint8Array(1500));
    expect(await c.next((m) => m.t === 'err')).toMatchObject({ code: 'frame_too_large' });
    expect((await c.waitClosed()).code).toBe(CloseCode.frame_too_large.code);
    const d = await open(n, 'bigger');
    d.sendRaw(new Uint8Array(64 * 1024));
    expect([1009, 1006, CloseCode.frame_too_large.code]).toContain((await d.waitClosed()).code);
    const e = await open(n, 'after');
    expect(await e.call({ t: 'req', method: 'system.echo', params: { text: 'still here' } })).toMatchObject({
      t: 'res',
    });
  });

  it('answers frames past the connection rate with rate_limited and a retry hint', async () => {
    const n = await start({ RATE_CONNECTION_PER_SEC: '5', RATE_CONNECTION_BURST: '5' });
    const c = await open(n, 'eager');
    for (let i = 0; i < 8; i++) c.send({ t: 'ping' });
    const err = await c.next((m) => m.t === 'err');
    expect(err).toMatchObject({ code: 'rate_limited' });
    expect((err as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1200));
    const before = c.messages.length;
    c.send({ t: 'ping' });
    await c.next((m) => m.t === 'pong', 2000, before);
    // One that ignores the hints for a whole burst's worth of frames is cut off.
    for (let i = 0; i < 30; i++) c.send({ t: 'ping' });
    const closed = await c.waitClosed();
    expect(closed.code).toBe(CloseCode.rate_limited.code);
    expect(closed.reason).toMatch(/^rate_limited retry_after_ms=\d+$/);
  });

  it("answers requests past the per-user rate with rate_limited across that user's sockets", async () => {
    const n = await start({ RATE_USER_PER_SEC: '2', RATE_USER_BURST: '4' });
    const a = await open(n, 'busy');
    const b = await open(n, 'busy');
    const results = await Promise.all(
      [a, b, a, b, a, b].map((c) => c.call({ t: 'req', method: 'system.echo', params: { text: 'x' } })),
    );
    const codes = results.map((r) => (r.t === 'err' ? r.code : 'ok'));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(4);
    expect(codes.filter((c) => c === 'rate_limited')).toHaveLength(2);
    const other = await open(n, 'calm');
    expect(await other.call({ t: 'req', method: 'system.echo', params: { text: 'x' } })).toMatchObject({
      t: 'res',
    });
  });

  it('closes a socket after a stream of malformed frames, answering each first', async () => {
    const n = await start({ MAX_BAD_FRAMES: '5' });
    const c = await open(n, 'garbage', 'json');
    for (let i = 0; i < 5; i++) c.sendRaw(`{not json ${i}`);
    expect((await c.waitClosed()).code).toBe(CloseCode.protocol_error.code);
    expect(c.messages.filter((m) => m.t === 'err' && m.code === 'bad_frame')).toHaveLength(5);
  });

  it('refuses origins outside the allowlist and admits native apps without Origin', async () => {
    const n = await start({ ALLOWED_ORIGINS: 'https://app.example.com' });
    await expect(
      RawClient.connect(wsUrl(n), 'json', { origin: 'https://evil.example' }),
    ).rejects.toMatchObject({ status: 403 });
    const ok = await RawClient.connect(wsUrl(n), 'json', { origin: 'https://app.example.com' });
    const native = await RawClient.connect(wsUrl(n), 'json');
    clients.push(ok, native);
  });

  it('closes sockets past MAX_CONNECTIONS with 4503 and a retry hint, and refuses unknown subprotocols with 400', async () => {
    const n = await start({ MAX_CONNECTIONS: '2' });
    clients.push(await RawClient.connect(wsUrl(n)), await RawClient.connect(wsUrl(n)));
    const third = await RawClient.connect(wsUrl(n));
    clients.push(third);
    const closed = await third.waitClosed();
    expect(closed.code).toBe(CloseCode.over_capacity.code);
    expect(closed.reason).toBe('over_capacity retry_after_ms=5000');
    expect(n.gateway.connectionCount).toBe(2);
    for (const c of clients.splice(0)) c.close();
    await new Promise((r) => setTimeout(r, 100));
    const ws = await import('ws');
    const status = await new Promise<number>((resolve) => {
      const s = new ws.default(wsUrl(n), ['chat.v9']);
      s.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      s.on('open', () => resolve(101));
      s.on('error', () => {});
    });
    expect(status).toBe(400);
  });

  it('closes sockets that never say hello (auth_timeout) and idle ones (idle_timeout)', async () => {
    const n = await start({ AUTH_TIMEOUT_MS: '300', IDLE_TIMEOUT_MS: '2000', PING_INTERVAL_MS: '1000' });
    const mute = await RawClient.connect(wsUrl(n));
    clients.push(mute);
    expect((await mute.waitClosed(2000)).code).toBe(CloseCode.auth_timeout.code);
    const idle = await open(n, 'sleepy');
    const pinging = await open(n, 'awake');
    const timer = setInterval(() => pinging.send({ t: 'ping' }), 500);
    try {
      expect((await idle.waitClosed(4000)).code).toBe(CloseCode.idle_timeout.code);
      expect(pinging.closed).toBeUndefined();
    } finally {
      clearInterval(timer);
    }
  });

  it('on shutdown tells every socket to go away with a retry hint', async () => {
    const n = await start({ GOING_AWAY_RETRY_MS: '300' });
    const c = await open(n, 'leaving');
    await n.shutdown();
    node = undefined;
    const closed = await c.waitClosed();
    expect(closed.code).toBe(CloseCode.going_away.code);
    expect(closed.reason).toMatch(/^going_away retry_after_ms=\d+$/);
    expect(c.messages.find((m) => m.t === 'notice')).toMatchObject({ kind: 'going_away' });
  });
});
