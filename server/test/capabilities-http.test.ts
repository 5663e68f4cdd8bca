import SwaggerParser from '@apidevtools/swagger-parser';
import { uuidv7 } from '@shutter/actors';
import { MethodIdempotency } from '@shutter/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capabilities } from '../src/capabilities/index.js';
import type { ShutterNode } from '../src/node.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';

/**
 * Both front doors serve the one registry: every operation is a WebSocket
 * method and an HTTP JSON route on the same handler, and GET /v1/openapi.json
 * describes the routes from the same schemas (issue 9 §0).
 */
describe.each(TRANSPORTS)('operations over HTTP on %s', (transport) => {
  let node: ShutterNode;
  let token: string;
  const clients: RawClient[] = [];

  beforeAll(async () => {
    node = await startTestNode(transport);
    token = await devToken(node, 'hana');
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await node.shutdown();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${node.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('system.increment: the HTTP route and the socket method change the same counter', async () => {
    const r1 = await post('/v1/counters/both-doors/increment', { by: 2 });
    expect(r1.status).toBe(200);
    expect(await r1.json()).toEqual({ counter: 'both-doors', value: 2 });
    const c = await RawClient.open(wsUrl(node), token, 'json');
    clients.push(c);
    expect(
      await c.call({ t: 'req', method: 'system.increment', params: { counter: 'both-doors', by: 3 } }),
    ).toMatchObject({ t: 'res', result: { counter: 'both-doors', value: 5 } });
    const r2 = await post('/v1/counters/both-doors/increment', { by: 1 });
    expect(await r2.json()).toEqual({ counter: 'both-doors', value: 6 });
  });

  it('Idempotency-Key makes an HTTP retry apply once; the same key with other params is conflict', async () => {
    const key = uuidv7();
    const first = await post('/v1/counters/keyed/increment', { by: 4 }, { 'idempotency-key': key });
    const again = await post('/v1/counters/keyed/increment', { by: 4 }, { 'idempotency-key': key });
    expect(await first.json()).toEqual({ counter: 'keyed', value: 4 });
    expect(await again.json()).toEqual({ counter: 'keyed', value: 4 });
    const other = await post('/v1/counters/keyed/increment', { by: 5 }, { 'idempotency-key': key });
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ error: { code: 'conflict' } });
    const bad = await post('/v1/counters/keyed/increment', { by: 1 }, { 'idempotency-key': 'short' });
    expect(bad.status).toBe(400);
    expect(await post('/v1/counters/keyed/increment', { by: 1 }).then((r) => r.json())).toEqual({
      counter: 'keyed',
      value: 5,
    });
  });

  it('refusals come as {"error": {code, message}} with the code status', async () => {
    const cases: [Promise<Response>, number, string][] = [
      // No token, a bad token.
      [
        fetch(`${node.url}/v1/counters/x/increment`, { method: 'POST', body: '{"by":1}' }),
        401,
        'unauthenticated',
      ],
      [post('/v1/counters/x/increment', { by: 1 }, { authorization: 'Bearer nope' }), 401, 'auth_failed'],
      // Schema: out of range, unknown property, a name given in the path and the body.
      [post('/v1/counters/x/increment', { by: 0 }), 400, 'bad_request'],
      [post('/v1/counters/x/increment', { by: 1, extra: true }), 400, 'bad_request'],
      [post('/v1/counters/x/increment', { by: 1, counter: 'y' }), 400, 'bad_request'],
      // Text rules of the socket: NUL in the path, a lone surrogate in the body, no JSON.
      [post('/v1/counters/a%00b/increment', { by: 1 }), 400, 'bad_request'],
      [post('/v1/system/echo', '{"text":"\\ud800"}'), 400, 'bad_request'],
      [post('/v1/system/echo', 'text=hi'), 400, 'bad_request'],
      // Past the socket's frame limit.
      [post('/v1/system/echo', { text: 'x'.repeat(70_000) }), 413, 'payload_too_large'],
    ];
    for (const [res, status, code] of cases) {
      const r = await res;
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect({ status: r.status, code: body.error.code }).toEqual({ status, code });
      expect(typeof body.error.message).toBe('string');
    }
  });

  it('system.echo answers over HTTP as on the socket', async () => {
    const r = await post('/v1/system/echo', { text: 'héllo' });
    expect(await r.json()).toMatchObject({ text: 'héllo', node: node.config.gateway.nodeId });
  });

  it('GET /v1/openapi.json is a valid OpenAPI 3.1 document listing every operation', async () => {
    const r = await fetch(`${node.url}/v1/openapi.json`);
    expect(r.status).toBe(200);
    const doc = (await r.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    expect(doc.openapi).toMatch(/^3\.1\./);
    // The official 3.1 schema, and every $ref resolved (throws on any violation).
    await SwaggerParser.validate(structuredClone(doc) as never);
    const listed = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([verb, op]) => `${verb.toUpperCase()} ${path} ${op.operationId}`),
    );
    const registered = capabilities.flatMap((c) =>
      c.operations.map((op) => `${op.http.method} ${op.http.path} ${op.method}`),
    );
    expect(listed.sort()).toEqual(registered.sort());
    // The SDK knows every registered method and no other.
    expect(Object.keys(MethodIdempotency).sort()).toEqual(
      capabilities.flatMap((c) => c.operations.map((op) => op.method)).sort(),
    );
  });
});

describe('the per-user request limit holds on both doors', () => {
  let node: ShutterNode;
  const clients: RawClient[] = [];
  beforeAll(async () => {
    node = await startTestNode('ws', { RATE_USER_PER_SEC: '1', RATE_USER_BURST: '2' });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await node.shutdown();
  });

  it("HTTP calls take from the same bucket as the user's socket frames", async () => {
    const token = await devToken(node, 'rina');
    const call = () =>
      fetch(`${node.url}/v1/system/echo`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: '{"text":"x"}',
      });
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(200);
    const limited = await call();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    // The socket of the same user finds the bucket empty too.
    const c = await RawClient.open(wsUrl(node), token, 'json');
    clients.push(c);
    expect(await c.call({ t: 'req', method: 'system.echo', params: { text: 'y' } })).toMatchObject({
      t: 'err',
      code: 'rate_limited',
    });
  });
});
