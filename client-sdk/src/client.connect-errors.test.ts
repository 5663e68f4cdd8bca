import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ShutterError } from '@shutter/protocol/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ShutterClient } from './client.js';
import type { ClientOptions } from './options.js';
import { sleep, until } from './testing/wait.js';
import type { ClientErrorEvent, ClientState, DisconnectReason } from './types.js';
import { UpgradeRefusedError } from './upgrade-refusal.js';
import type { WebSocketLike } from './websocket.js';

/** An HTTP server that answers every upgrade with one fixed response and counts them. */
async function refusingServer(
  status: number,
  headers: Record<string, string>,
  body = '',
): Promise<{
  url: string;
  upgrades: () => number;
  /** Date.now() of each upgrade request. */
  times: number[];
  close: () => Promise<void>;
}> {
  let upgrades = 0;
  const times: number[] = [];
  const server: Server = createServer((_req, res) => res.end());
  server.on('upgrade', (_req, socket) => {
    // Node leaves an upgraded socket's errors to the listener: a client that
    // gives up mid-answer resets it, which is no failure of the test.
    socket.on('error', () => {});
    upgrades++;
    times.push(Date.now());
    const head = [
      `HTTP/1.1 ${status} Status ${status}`,
      'connection: close',
      `content-length: ${Buffer.byteLength(body)}`,
    ];
    for (const [k, v] of Object.entries(headers)) head.push(`${k}: ${v}`);
    socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    upgrades: () => upgrades,
    times,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A WebSocket as browsers offer it: the WHATWG surface only, no `on`, and
 * error events without a message, so the HTTP status of a refused upgrade
 * is invisible (a close with 1006 is all there is).
 */
class BrowserLikeWebSocket implements WebSocketLike {
  readonly #ws: WebSocket;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(url: string, protocols?: string | string[]) {
    this.#ws = new WebSocket(url, protocols);
    this.#ws.onopen = () => this.onopen?.({ type: 'open' });
    this.#ws.onmessage = (e) => this.onmessage?.({ data: e.data });
    this.#ws.onclose = (e) => this.onclose?.({ code: e.code, reason: e.reason });
    this.#ws.onerror = () => this.onerror?.({ type: 'error' });
  }
  get binaryType(): string {
    return this.#ws.binaryType;
  }
  set binaryType(value: string) {
    this.#ws.binaryType = value as 'arraybuffer';
  }
  get protocol(): string {
    return this.#ws.protocol;
  }
  get readyState(): number {
    return this.#ws.readyState;
  }
  send(data: string | Uint8Array): void {
    this.#ws.send(data);
  }
  close(code?: number, reason?: string): void {
    this.#ws.close(code, reason);
  }
}

const clients: ShutterClient[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const close of closers.splice(0)) await close();
});

function client(url: string, options: Partial<ClientOptions> = {}) {
  const c = new ShutterClient({
    url,
    token: 'tok-alice',
    WebSocket,
    backoff: { minMs: 20, maxMs: 100, factor: 2 },
    resumeJitterMs: 5,
    connectTimeoutMs: 2000,
    ...options,
  });
  clients.push(c);
  const seen = {
    states: [] as ClientState[],
    reconnects: [] as DisconnectReason[],
    errors: [] as ClientErrorEvent[],
  };
  c.on('state', (s) => seen.states.push(s.state));
  c.on('reconnect', (r) => seen.reconnects.push(r.reason));
  c.on('error', (e) => seen.errors.push(e));
  return { c, ...seen };
}

describe('a refused upgrade, where the WebSocket exposes the HTTP status (ws)', () => {
  it('404 with the protocol JSON body: ready() rejects with a typed error carrying status and server message; no retry', async () => {
    const body = JSON.stringify({
      error: { code: 'not_found', message: 'not_found: no WebSocket endpoint at /wss' },
    });
    const server = await refusingServer(404, { 'content-type': 'application/json' }, body);
    closers.push(server.close);
    const { c, states, reconnects, errors } = client(server.url);
    c.connect();
    const err = await c.ready(5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpgradeRefusedError);
    expect(err).toBeInstanceOf(ShutterError);
    const refused = err as UpgradeRefusedError;
    expect(refused).toMatchObject({
      status: 404,
      code: 'not_found',
      serverCode: 'not_found',
      retryable: false,
    });
    expect(refused.message).toBe(
      'the server refused the WebSocket upgrade with HTTP 404: not_found: no WebSocket endpoint at /wss',
    );
    expect(states).toEqual(['connecting', 'disconnected']);
    expect(c.lastDisconnectReason).toMatchObject({
      source: 'client',
      name: 'upgrade_refused',
      action: 'stop',
    });
    expect(errors.map((e) => e.kind)).toEqual(['transport']);
    await sleep(300); // backoff is 20–100 ms: a retry would have happened by now
    expect(server.upgrades()).toBe(1);
    expect(reconnects).toEqual([]);
  });

  it.each([
    [426, 'bad_request'],
    [401, 'unauthenticated'],
    [403, 'forbidden'],
  ] as const)('%i without a JSON body stops at once with code %s', async (status, code) => {
    const server = await refusingServer(status, { 'content-type': 'text/plain' }, 'Upgrade refused by proxy');
    closers.push(server.close);
    const { c, reconnects } = client(server.url);
    c.connect();
    const err = (await c.ready(5000).catch((e: unknown) => e)) as UpgradeRefusedError;
    expect(err).toBeInstanceOf(UpgradeRefusedError);
    expect(err).toMatchObject({ status, code, serverCode: undefined, body: 'Upgrade refused by proxy' });
    expect(err.message).toBe(
      `the server refused the WebSocket upgrade with HTTP ${status}: Upgrade refused by proxy`,
    );
    await sleep(300);
    expect(server.upgrades()).toBe(1);
    expect(reconnects).toEqual([]);
  });

  it('503 with Retry-After is retried no earlier than the server asked', async () => {
    const body = JSON.stringify({ error: { code: 'unavailable', message: 'unavailable: draining' } });
    const server = await refusingServer(503, { 'retry-after': '1' }, body);
    closers.push(server.close);
    const { c, reconnects, states } = client(server.url, { resumeJitterMs: 50 });
    c.connect();
    await until(() => server.upgrades() === 2, 5000, 'a second upgrade');
    expect(server.times[1]! - server.times[0]!).toBeGreaterThanOrEqual(1000);
    const reason = reconnects[0]!;
    expect(reason).toMatchObject({ name: 'upgrade_unavailable', action: 'backoff', retryAfterMs: 1000 });
    expect(reason.error).toMatchObject({
      status: 503,
      code: 'unavailable',
      retryable: true,
      retryAfterMs: 1000,
    });
    expect(states).toEqual(['connecting']);
  });
});

describe('a server that is down', () => {
  it('is retried with growing backoff, each attempt reporting the platform reason; ready(timeout) names it', async () => {
    const gone = await refusingServer(503, {});
    await gone.close(); // nothing listens on that port any more
    const { c, reconnects, states } = client(gone.url, { random: () => 0.999 });
    c.connect();
    const err = (await c.ready(400).catch((e: unknown) => e)) as ShutterError;
    expect(err).toBeInstanceOf(ShutterError);
    expect(err.code).toBe('timeout');
    expect(err.message).toMatch(
      /^not connected within 400 ms; the last attempt ended with connect_failed: could not connect: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
    );
    expect(err.details).toEqual({ timeoutMs: 400, reason: 'connect_failed' });
    expect(reconnects.length).toBeGreaterThanOrEqual(3);
    expect(reconnects.every((r) => r.name === 'connect_failed' && r.action === 'backoff')).toBe(true);
    expect(states).toEqual(['connecting']);
  });
});

describe('a refused upgrade where the platform hides the status (browsers)', () => {
  it('is reported honestly as connect_failed and retried with backoff, since it looks like a server that is down', async () => {
    const server = await refusingServer(404, {}, '{"error":{"code":"not_found","message":"not_found"}}');
    closers.push(server.close);
    const { c, reconnects } = client(server.url, { WebSocket: BrowserLikeWebSocket });
    c.connect();
    await until(() => server.upgrades() >= 3, 5000, 'three upgrades');
    expect(c.state).toBe('connecting');
    expect(reconnects[0]).toMatchObject({ source: 'client', name: 'connect_failed', action: 'backoff' });
    expect(reconnects[0]?.message).toContain('the platform does not say why');
    expect(reconnects[0]?.error).toBeUndefined();
  });
});
