import { createClient, type ShutterClient, type StreamEvent } from '@shutter/client-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ShutterNode } from '../src/node.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { devToken, startTestNode, TRANSPORTS } from './helpers/test-node.js';

const until = async (cond: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe.each(TRANSPORTS)('client SDK against a real node on %s', (transport) => {
  let node: ShutterNode;
  let proxy: TcpProxy;
  const clients: ShutterClient[] = [];
  const client = (user: string, codec: 'json' | 'msgpack') => {
    const c = createClient({
      url: proxy.wsUrl,
      getToken: () => devToken(node, user),
      codec,
      WebSocket: WebSocket as never,
      backoff: { minMs: 50, maxMs: 500 },
      resumeJitterMs: 50,
      probeTimeoutMs: 1000,
    });
    clients.push(c);
    c.connect();
    return c;
  };

  beforeAll(async () => {
    node = await startTestNode(transport, {
      PING_INTERVAL_MS: '1000',
      IDLE_TIMEOUT_MS: '5000',
      // One user sends 81 increments and the retries of the cut ones: past the default write limit.
      RATE_LIMITS: 'write=off',
    });
    proxy = await new TcpProxy(node.port).start();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });
  afterAll(async () => {
    await proxy.close();
    await node.shutdown();
  });

  it.each([
    'json',
    'msgpack',
  ] as const)('a %s subscriber whose socket is cut mid-stream reconnects and sees every event once, in order', async (codec) => {
    const c = client(`reader-${codec}`, codec);
    const stream = `topic:sdk-${codec}`;
    const seen: StreamEvent<{ i: number }>[] = [];
    c.subscribe<{ i: number }>(stream, (e) => seen.push(e));
    await c.ready(5000);
    await until(() => c.getSubscription(stream)?.state === 'subscribed');
    const total = 300;
    const publishing = (async () => {
      for (let i = 1; i <= total; i++) {
        await node.hub.publish(stream, { i });
        if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await until(() => seen.length >= 50);
    proxy.cut();
    await until(() => seen.length >= 150);
    proxy.cut();
    await publishing;
    await until(() => seen.length >= total, 15_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.map((e) => e.data.i)).toEqual([...Array(total).keys()].map((i) => i + 1));
    expect(seen.map((e) => e.seq)).toEqual([...Array(total).keys()].map((i) => i + 1));
  });

  it('idempotent requests cut off mid-flight or queued offline are applied exactly once', async () => {
    const c = client('counter-user', 'msgpack');
    await c.ready(5000);
    let drops = 0;
    c.on('state', (s) => {
      if (s.state !== 'connected') drops++;
    });
    const n = 40;
    const inFlight = [...Array(n).keys()].map(() =>
      c.call('system.increment', { counter: 'taps', by: 1 }, { idempotent: true, timeoutMs: 15_000 }),
    );
    // Cut while some are applied but unanswered and some not yet sent.
    await new Promise((r) => setTimeout(r, 2));
    proxy.cut();
    const offline = [...Array(n).keys()].map(() =>
      c.call('system.increment', { counter: 'taps', by: 1 }, { idempotent: true, timeoutMs: 15_000 }),
    );
    const results = await Promise.all([...inFlight, ...offline]);
    expect(results).toHaveLength(2 * n);
    expect(drops).toBeGreaterThan(0);
    const check = await c.call('system.increment', { counter: 'taps', by: 1 });
    expect(check.value).toBe(2 * n + 1);
  });

  it('a non-idempotent request in flight when the socket drops fails fast with disconnected', async () => {
    const c = client('impatient', 'json');
    await c.ready(5000);
    proxy.stall();
    const p = c.call('system.increment', { counter: 'x', by: 1 }, { timeoutMs: 10_000 });
    proxy.cut();
    proxy.unstall();
    await expect(p).rejects.toMatchObject({ code: 'disconnected' });
    await c.ready(5000);
  });

  it('detects a half-open socket by its missing pong and reconnects', async () => {
    const c = client('probe', 'msgpack');
    await c.ready(5000);
    const reconnected = new Promise<void>((resolve) => {
      let sawReconnecting = false;
      c.on('state', (s) => {
        if (s.state !== 'connected') sawReconnecting = true;
        else if (sawReconnecting) resolve();
      });
    });
    proxy.stall();
    // Nothing flows either way: only the SDK's liveness probe can notice.
    await new Promise((r) => setTimeout(r, 300));
    proxy.unstall();
    await reconnected;
    expect((await c.call('system.echo', { text: 'back' })).text).toBe('back');
  }, 20_000);
});
