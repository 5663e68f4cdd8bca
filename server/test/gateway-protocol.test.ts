import { uuidv7 } from '@shutter/actors';
import { CloseCode } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';

describe.each(TRANSPORTS)('gateway protocol on %s', (transport) => {
  let node: ShutterNode;
  let url: string;
  const clients: RawClient[] = [];
  const open = async (user: string, codec: 'json' | 'msgpack' = 'msgpack') => {
    const c = await RawClient.open(url, await devToken(node, user), codec);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    node = await startTestNode(transport, { STREAM_HISTORY_SIZE: '5', TOKEN_NOTICE_MS: '3000' });
    url = wsUrl(node);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await node.shutdown();
  });

  it.each([
    'json',
    'msgpack',
  ] as const)('serves a %s client: welcome, request, subscription, events', async (codec) => {
    const c = await RawClient.connect(url, codec);
    clients.push(c);
    c.send({ t: 'hello', v: 1, token: await devToken(node, 'alice'), client: { name: 'test' } });
    const welcome = await c.next((m) => m.t === 'welcome');
    expect(welcome).toMatchObject({ t: 'welcome', v: 1, user: 'alice', node: node.config.gateway.nodeId });
    expect(await c.call({ t: 'req', method: 'system.echo', params: { text: 'héllo' } })).toMatchObject({
      t: 'res',
      result: { text: 'héllo', node: node.config.gateway.nodeId },
    });
    const stream = `topic:proto-${codec}`;
    const sub = await c.call({ t: 'sub', stream });
    expect(sub).toMatchObject({ t: 'res', result: { status: 'fresh', seq: 0, missed: 0 } });
    await node.hub.publish(stream, { n: 1, nested: { ok: true } });
    const ev = await c.next((m) => m.t === 'ev');
    expect(ev).toMatchObject({ t: 'ev', stream, seq: 1, data: { n: 1, nested: { ok: true } } });
    expect(await c.call({ t: 'unsub', stream })).toMatchObject({ t: 'res' });
    expect(await c.call({ t: 'unsub', stream })).toMatchObject({ t: 'err', code: 'not_subscribed' });
    c.send({ t: 'ping' });
    await c.next((m) => m.t === 'pong');
  });

  it('refuses a bad token with auth_failed and an expired one with token_expired', async () => {
    const bad = await RawClient.connect(url);
    bad.send({ t: 'hello', v: 1, token: 'not-a-jwt' });
    expect(await bad.next((m) => m.t === 'err')).toMatchObject({ code: 'auth_failed' });
    expect((await bad.waitClosed()).code).toBe(CloseCode.auth_failed.code);

    const expired = await RawClient.connect(url);
    expired.send({ t: 'hello', v: 1, token: await devToken(node, 'alice', 1) });
    await new Promise((r) => setTimeout(r, 1100));
    // The token may still verify if the clock tick lands early; then the sweep expires it.
    const closed = await expired.waitClosed(3000);
    expect(closed.code).toBe(CloseCode.token_expired.code);
    expect(expired.messages.some((m) => m.t === 'err' && m.code === 'token_expired')).toBe(true);
  });

  it('closes a socket whose first frame is not hello, or a hello of another version', async () => {
    const c = await RawClient.connect(url);
    c.send({ t: 'ping' });
    expect(await c.next((m) => m.t === 'err')).toMatchObject({ code: 'unauthenticated' });
    expect((await c.waitClosed()).code).toBe(CloseCode.protocol_error.code);
    const v2 = await RawClient.connect(url);
    v2.sendRaw(v2.codec.encode({ t: 'hello', v: 2, token: 'x' } as never));
    expect(await v2.next((m) => m.t === 'err')).toMatchObject({ code: 'bad_request' });
    expect((await v2.waitClosed()).code).toBe(CloseCode.unsupported_protocol.code);
  });

  it('processes sub, unsub, sub of one stream in order, ending subscribed once', async () => {
    const c = await open('racer');
    const stream = 'topic:race';
    const ids = [c.id(), c.id(), c.id()];
    c.send({ t: 'sub', id: ids[0]!, stream });
    c.send({ t: 'unsub', id: ids[1]!, stream });
    c.send({ t: 'sub', id: ids[2]!, stream });
    for (const id of ids)
      expect(await c.next((m) => (m.t === 'res' || m.t === 'err') && m.id === id)).toMatchObject({
        t: 'res',
      });
    await node.hub.publish(stream, 'once');
    await c.next((m) => m.t === 'ev' && m.stream === stream);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.events(stream)).toHaveLength(1);
  });

  it('answers a rate-limited request with its id', async () => {
    const limited = await startTestNode(transport, {
      RATE_CONNECTION_PER_SEC: '1',
      RATE_CONNECTION_BURST: '1',
    });
    try {
      const c = await RawClient.open(wsUrl(limited), await devToken(limited, 'limited'));
      const r = await c.call({ t: 'req', method: 'system.echo', params: { text: 'x' } });
      expect(r).toMatchObject({ t: 'err', code: 'rate_limited' });
      expect((r as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
      c.close();
    } finally {
      await limited.shutdown();
    }
  });

  it('re-auth before expiry keeps the session open past the first token', async () => {
    const short = await open('carol');
    short.send({ t: 'hello', v: 1, token: '' } as never); // ignored: already open → bad_request, not a close
    await short.next((m) => m.t === 'err' && m.code === 'bad_request');
    const c = await RawClient.open(url, await devToken(node, 'carol', 4));
    clients.push(c);
    const notice = await c.next((m) => m.t === 'notice');
    expect(notice).toMatchObject({ kind: 'token_expiring' });
    const fresh = await devToken(node, 'carol', 3600);
    const res = await c.call({ t: 'auth', token: fresh });
    expect(res).toMatchObject({ t: 'res' });
    expect((res as { result: { expiresAt: number } }).result.expiresAt).toBeGreaterThan(
      Date.now() + 3_000_000,
    );
    await new Promise((r) => setTimeout(r, 4000));
    expect(c.closed).toBeUndefined();
    c.send({ t: 'ping' });
    await c.next((m) => m.t === 'pong', 2000, c.messages.length);
    // A token for someone else is refused on the open socket.
    expect(await c.call({ t: 'auth', token: await devToken(node, 'mallory') })).toMatchObject({
      code: 'forbidden',
    });
  });

  it('resumes from a position with exactly the missed events, then live ones', async () => {
    const stream = 'topic:resume';
    const a = await open('dave');
    const first = (await a.call({ t: 'sub', stream })) as { result: { epoch: string } };
    for (let i = 1; i <= 3; i++) await node.hub.publish(stream, i);
    await a.next((m) => m.t === 'ev' && m.seq === 3);
    a.close();
    for (let i = 4; i <= 6; i++) await node.hub.publish(stream, i);
    const b = await open('dave');
    const res = await b.call({ t: 'sub', stream, from: { epoch: first.result.epoch, seq: 3 } });
    expect(res).toMatchObject({ t: 'res', result: { status: 'recovered', missed: 3, seq: 6 } });
    await node.hub.publish(stream, 7);
    await b.next((m) => m.t === 'ev' && m.seq === 7);
    expect(b.events(stream).map((e) => [e.seq, e.data])).toEqual([
      [4, 4],
      [5, 5],
      [6, 6],
      [7, 7],
    ]);
  });

  it('answers refetch when the history no longer reaches or the epoch differs', async () => {
    const stream = 'topic:refetch';
    const c = await open('erin');
    const { result } = (await c.call({ t: 'sub', stream })) as { result: { epoch: string } };
    await c.call({ t: 'unsub', stream });
    for (let i = 1; i <= 20; i++) await node.hub.publish(stream, i);
    expect(await c.call({ t: 'sub', stream, from: { epoch: result.epoch, seq: 2 } })).toMatchObject({
      result: { status: 'refetch', seq: 20, missed: 0 },
    });
    await c.call({ t: 'unsub', stream });
    expect(await c.call({ t: 'sub', stream, from: { epoch: 'someother', seq: 19 } })).toMatchObject({
      result: { status: 'refetch', seq: 20 },
    });
    await node.hub.publish(stream, 21);
    expect((await c.next((m) => m.t === 'ev' && m.stream === stream)) as { seq: number }).toMatchObject({
      seq: 21,
    });
  });

  it("authorizes each subscription: a user inbox is its owner's alone", async () => {
    const c = await open('frank');
    expect(await c.call({ t: 'sub', stream: 'user:frank:inbox' })).toMatchObject({ t: 'res' });
    expect(await c.call({ t: 'sub', stream: 'user:grace:inbox' })).toMatchObject({
      t: 'err',
      code: 'forbidden',
    });
    expect(await c.call({ t: 'sub', stream: 'secret:x' })).toMatchObject({ t: 'err', code: 'forbidden' });
    expect(await c.call({ t: 'sub', stream: 'user:frank:inbox' })).toMatchObject({
      code: 'already_subscribed',
    });
  });

  it('answers unknown methods and bad params with their codes', async () => {
    const c = await open('heidi', 'json');
    expect(await c.call({ t: 'req', method: 'no.such' })).toMatchObject({ code: 'unknown_method' });
    expect(await c.call({ t: 'req', method: 'system.echo', params: { text: 5 } })).toMatchObject({
      code: 'bad_request',
    });
  });

  it('applies a retried request with the same idempotency key once', async () => {
    const c = await open('ivan');
    const params = { counter: 'likes', by: 2 };
    const [k1, k2] = [uuidv7(), uuidv7()];
    const r1 = await c.call({ t: 'req', method: 'system.increment', params, ikey: k1 });
    const r2 = await c.call({ t: 'req', method: 'system.increment', params, ikey: k1 });
    const r3 = await c.call({ t: 'req', method: 'system.increment', params, ikey: k2 });
    expect([r1, r2, r3].map((r) => (r as { result: { value: number } }).result.value)).toEqual([2, 2, 4]);
    const reused = await c.call({
      t: 'req',
      method: 'system.increment',
      params: { counter: 'likes', by: 5 },
      ikey: k1,
    });
    expect(reused).toMatchObject({ t: 'err', code: 'conflict' });
    // Keys of actor methods are time-ordered: one older than the window is refused, one with
    // no readable time is a bad request (docs/protocol.md §5.3).
    const old = await c.call({
      t: 'req',
      method: 'system.increment',
      params,
      ikey: uuidv7(Date.now() - 25 * 3_600_000),
    });
    expect(old).toMatchObject({ t: 'err', code: 'idempotency_key_expired' });
    const legacy = await c.call({ t: 'req', method: 'system.increment', params, ikey: 'retry-key-0003' });
    expect(legacy).toMatchObject({ t: 'err', code: 'bad_request' });
    expect(await c.call({ t: 'req', method: 'system.increment', params, ikey: uuidv7() })).toMatchObject({
      result: { value: 6 },
    });
  });
});

describe('operations endpoints', () => {
  it('serves /healthz, /readyz and Prometheus /metrics with gateway figures', async () => {
    const node = await startTestNode('ws');
    try {
      const c = await RawClient.open(wsUrl(node), await devToken(node, 'metrics'));
      expect(await (await fetch(`${node.url}/healthz`)).json()).toMatchObject({ status: 'ok' });
      expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
      const text = await (await fetch(`${node.url}/metrics`)).text();
      expect(text).toMatch(/^shutter_gateway_connections\{node="[^"]+"\} 1$/m);
      expect(text).toMatch(/^shutter_gateway_connections_opened_total\{node="[^"]+"\} 1$/m);
      expect(text).toMatch(/^shutter_process_resident_memory_bytes\{/m);
      c.close();
    } finally {
      await node.shutdown();
    }
  });
});

describe('CORS for browser apps', () => {
  it('answers preflights and exposes ETag to allowed origins only', async () => {
    const node = await startTestNode('uws', { ALLOWED_ORIGINS: 'https://app.example.com' });
    try {
      const pre = await fetch(`${node.url}/v1/uploads`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
      const get = await fetch(`${node.url}/healthz`, { headers: { origin: 'https://app.example.com' } });
      expect(get.headers.get('access-control-expose-headers')).toContain('etag');
      const evil = await fetch(`${node.url}/v1/uploads`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      expect(evil.status).toBe(403);
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await node.shutdown();
    }
  });
});
