import { performance } from 'node:perf_hooks';
import {
  createClient,
  httpBaseUrl,
  type ReconnectInfo,
  Session,
  type ShutterClient,
  type StreamEvent,
} from '@shutter/client-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ShutterNode } from '../src/node.js';
import { FAST_ARGON2 } from './helpers/accounts-http.js';
import { RawClient } from './helpers/raw-client.js';
import { SkewedClock } from './helpers/skewed-clock.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { startTestNode, wsUrl } from './helpers/test-node.js';

const until = async <T>(check: () => T | undefined | false, ms = 10_000, what = 'condition'): Promise<T> => {
  const end = performance.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

/**
 * A phone's life against a real node whose access tokens live 60 s: the app
 * goes to the background and comes back after its token expired, the device
 * sleeps without telling the app, the network changes under an open socket.
 * Sleeping is a jump of the process clock (`SkewedClock`): the node and the
 * SDK both see 61 s pass, so the node really refuses the old token, as the
 * first test shows, without the test waiting a minute.
 */
describe('the SDK through background, sleep and network changes (60-second tokens, real node)', () => {
  const clock = new SkewedClock();
  let node: ShutterNode;
  let proxy: TcpProxy;
  const clients: ShutterClient[] = [];

  beforeAll(async () => {
    clock.install();
    node = await startTestNode('uws', {
      ...FAST_ARGON2,
      AUTH_ACCESS_TTL_SECONDS: '60',
      STREAM_HISTORY_SIZE: '10',
      PING_INTERVAL_MS: '1000',
    });
    proxy = await new TcpProxy(node.port).start();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });
  afterAll(async () => {
    await proxy?.close();
    await node?.shutdown();
    clock.uninstall();
  });

  /** A registered user, its session (the SDK's token provider, on /v1/sessions/refresh) and a client through the proxy. */
  async function phone(name: string) {
    const session = new Session({ baseUrl: httpBaseUrl(wsUrl(node)), marginMs: 10_000 });
    const { user } = await session.register(name, 'a good long password');
    const tokens: string[] = [];
    const client = createClient({
      url: proxy.wsUrl,
      getToken: async () => {
        const t = await session.getToken();
        tokens.push(t);
        return t;
      },
      WebSocket: WebSocket as never,
      resumeJitterMs: 50,
    });
    clients.push(client);
    const reconnects: ReconnectInfo[] = [];
    const errors: string[] = [];
    client.on('reconnect', (r) => reconnects.push(r));
    client.on('error', (e) => errors.push(`${e.kind}: ${e.error.message}`));
    const stream = `user:${user.id}:inbox`;
    const seen: StreamEvent<{ i: number }>[] = [];
    const refetches: unknown[] = [];
    const sub = client.subscribe<{ i: number }>(stream, (e) => seen.push(e), {
      onRefetch: (info) => refetches.push(info),
    });
    client.connect();
    await client.ready(5000);
    await until(() => sub.state === 'subscribed', 5000, 'subscribed');
    let i = 0;
    const publish = async (n: number) => {
      for (let k = 0; k < n; k++) await node.hub.publish(stream, { i: ++i });
    };
    return { client, sub, seen, refetches, reconnects, errors, tokens, publish };
  }

  it('back from the background after its token expired: a fresh token before hello, every missed event once, within 1 s', async () => {
    const p = await phone('sleepy_phone');
    await p.publish(1);
    await until(() => p.seen.length === 1, 5000, 'the live event');
    const before = p.tokens.at(-1) as string;

    p.client.setAppState('background');
    expect(p.client.state).toBe('reconnecting');
    expect(p.client.lastDisconnectReason?.name).toBe('background');
    await p.publish(8); // push would carry these; the stream keeps them for the resume
    clock.jump(61_000); // asleep for 61 s: the 60 s token is gone

    // The node really refuses that token now.
    const raw = await RawClient.connect(wsUrl(node), 'json');
    raw.send({ t: 'hello', v: 1, token: before });
    expect((await raw.waitClosed()).code).toBe(4409);
    expect(raw.messages).toEqual([expect.objectContaining({ t: 'err', code: 'token_expired' })]);

    const reconnectsBefore = p.reconnects.length;
    const t0 = performance.now();
    p.client.setAppState('foreground');
    await until(() => p.client.state === 'connected', 1000, 'connected');
    const connectedMs = performance.now() - t0;
    await until(() => p.seen.length === 9, 1000, 'the missed events');
    const freshMs = performance.now() - t0;
    console.info(
      `foreground → connected ${connectedMs.toFixed(0)} ms, → 8 missed events ${freshMs.toFixed(0)} ms`,
    );
    expect(freshMs).toBeLessThan(1000);

    // One attempt, with the new token: nothing refused, nothing retried.
    expect(p.reconnects.slice(reconnectsBefore)).toEqual([]);
    expect(p.errors).toEqual([]);
    expect(p.tokens.at(-1)).not.toBe(before);
    expect(p.client.info?.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    expect(p.sub.position).toEqual({ epoch: p.seen[0]?.epoch, seq: 9 });

    await p.publish(2);
    await until(() => p.seen.length === 11, 5000, 'live events after the wake');
    await new Promise((r) => setTimeout(r, 100));
    expect(p.seen.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(p.seen.map((e) => e.data.i)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(p.refetches).toEqual([]);
  });

  it('missed more than the history holds: refetch, then only newer events, none twice', async () => {
    const p = await phone('long_asleep');
    await p.publish(3);
    await until(() => p.seen.length === 3, 5000, 'live events');
    p.client.setAppState('background');
    await p.publish(15); // the history keeps the newest 10: seq 9–18
    clock.jump(61_000);
    p.client.setAppState('foreground');
    await until(() => p.refetches.length === 1, 1000, 'refetch');
    const epoch = p.seen[0]?.epoch;
    expect(p.refetches).toEqual([{ stream: p.sub.stream, epoch, seq: 18, previous: { epoch, seq: 3 } }]);
    await p.publish(2);
    await until(() => p.seen.length === 5, 5000, 'live events after the refetch');
    await new Promise((r) => setTimeout(r, 100));
    expect(p.seen.map((e) => e.seq)).toEqual([1, 2, 3, 19, 20]);
    expect(p.errors).toEqual([]);
  });

  it('a dead socket that still says "connected" is replaced within 2.5 s of networkChanged()', async () => {
    const p = await phone('commuter');
    await p.publish(1);
    await until(() => p.seen.length === 1, 5000, 'the live event');
    // The old path goes dark (no FIN, no RST); new connections get through.
    proxy.blackhole();
    await p.publish(3);
    await new Promise((r) => setTimeout(r, 300));
    expect(p.client.state).toBe('connected'); // it believes it is
    expect(p.seen).toHaveLength(1);

    const t0 = performance.now();
    p.client.networkChanged();
    await until(() => p.seen.length === 4, 4000, 'the events after the network change');
    const ms = performance.now() - t0;
    console.info(`networkChanged → dead socket replaced, 3 events resumed in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(2500);
    expect(p.reconnects.at(-1)?.reason.name).toBe('half_open');
    expect(p.seen.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('a device that slept without the app being told: the late ping timer finds the dead socket, the token is refreshed', async () => {
    const p = await phone('lid_closed');
    await p.publish(1);
    await until(() => p.seen.length === 1, 5000, 'the live event');
    const before = p.tokens.at(-1) as string;
    proxy.blackhole(); // asleep: the NAT entry dies with the socket still "open"
    clock.jump(120_000);
    await p.publish(2);
    const t0 = performance.now();
    // The next ping timer (1 s) fires 120 s late by the clock: a quick probe, not the 10 s one.
    await until(() => p.seen.length === 3, 5000, 'the events after the wake');
    const ms = performance.now() - t0;
    console.info(`sleep detected, socket replaced, 2 events resumed in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1000 + 2000 + 500);
    expect(p.reconnects.map((r) => r.reason.name)).toEqual(['half_open']);
    expect(p.tokens.at(-1)).not.toBe(before);
    expect(p.client.info?.expiresAt).toBeGreaterThan(Date.now() + 50_000);
    expect(p.seen.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(p.errors).toEqual([]);
  });
});
