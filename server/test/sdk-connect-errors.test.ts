import { createServer } from 'node:net';
import {
  createClient,
  type DisconnectReason,
  type ShutterClient,
  ShutterError,
  UpgradeRefusedError,
} from '@shutter/client-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ShutterNode } from '../src/node.js';
import { devToken, startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';

// The SDK's connection errors against a real node: a wrong path is a typed,
// final error with the node's status and message; a node that is down is
// retried with backoff and `ready(timeout)` says why it is not connected.

const clients: ShutterClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.disconnect();
});

function client(url: string, getToken: () => Promise<string>) {
  const c = createClient({
    url,
    getToken,
    WebSocket: WebSocket as never,
    backoff: { minMs: 50, maxMs: 400 },
  });
  clients.push(c);
  const reconnects: DisconnectReason[] = [];
  c.on('reconnect', (r) => reconnects.push(r.reason));
  return { c, reconnects };
}

describe.each(TRANSPORTS)('SDK connection errors against a real node on %s', (transport) => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode(transport);
  });
  afterAll(async () => {
    await node.shutdown();
  });

  it('a wrong path: ready() rejects with UpgradeRefusedError 404 and the node message, and the client does not retry', async () => {
    const url = wsUrl(node).replace(/\/ws$/, '/socket');
    const { c, reconnects } = client(url, () => devToken(node, 'alice'));
    const states: string[] = [];
    c.on('state', (s) => states.push(s.state));
    c.connect();
    const err = (await c.ready(5000).catch((e: unknown) => e)) as UpgradeRefusedError;
    expect(err).toBeInstanceOf(UpgradeRefusedError);
    expect(err).toMatchObject({ status: 404, code: 'not_found', serverCode: 'not_found', retryable: false });
    // The node's own message (protocol §1.4), not a reason phrase.
    expect(err.message).toMatch(/^the server refused the WebSocket upgrade with HTTP 404: not_found: .+/);
    expect(c.lastDisconnectReason).toMatchObject({ name: 'upgrade_refused', action: 'stop', error: err });
    await new Promise((r) => setTimeout(r, 600)); // backoff ≤ 400 ms: a retry would have started
    expect(reconnects).toEqual([]);
    expect(states).toEqual(['connecting', 'disconnected']);
  });

  it('the right path still connects (the refusal logic leaves a good upgrade alone)', async () => {
    const { c } = client(wsUrl(node), () => devToken(node, 'bob'));
    c.connect();
    await c.ready(5000);
    expect((await c.call('system.echo', { text: 'ok' })).text).toBe('ok');
  });
});

describe('SDK against a node that is down', () => {
  it('retries with backoff, reports each failure, ready(timeout) names ECONNREFUSED; connects once a node is up', async () => {
    // A port nobody listens on: bind, note it, close.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));

    let node: ShutterNode | undefined;
    // The first token is a stand-in (no node can mint one yet); the node
    // refuses it with auth_failed and the client fetches a real one.
    const c = createClient({
      url: `ws://127.0.0.1:${port}/ws`,
      token: 'stand-in',
      getToken: () => devToken(node!, 'carol'),
      WebSocket: WebSocket as never,
      backoff: { minMs: 50, maxMs: 400 },
    });
    clients.push(c);
    const reconnects: { delayMs: number; reason: DisconnectReason }[] = [];
    c.on('reconnect', (r) => reconnects.push(r));
    c.connect();
    const err = (await c.ready(1500).catch((e: unknown) => e)) as ShutterError;
    expect(err).toBeInstanceOf(ShutterError);
    expect(err.code).toBe('timeout');
    expect(err.message).toMatch(
      /^not connected within 1500 ms; the last attempt ended with connect_failed: could not connect: connect ECONNREFUSED 127\.0\.0\.1:\d+$/,
    );
    expect(c.state).toBe('connecting'); // still trying
    const down = reconnects.slice();
    expect(down.length).toBeGreaterThanOrEqual(3);
    expect(down.every((r) => r.reason.name === 'connect_failed' && r.reason.action === 'backoff')).toBe(true);
    // Full jitter: attempt k waits in [0, min(400, 50 × 2^k)).
    for (const [k, r] of down.entries()) expect(r.delayMs).toBeLessThan(Math.min(400, 50 * 2 ** k));

    node = await startTestNode('ws', { PORT: String(port) });
    try {
      await c.ready(10_000);
      expect(c.info?.user).toBe('carol');
      expect((await c.call('system.echo', { text: 'up' })).text).toBe('up');
    } finally {
      c.disconnect();
      await node.shutdown();
    }
  });
});
