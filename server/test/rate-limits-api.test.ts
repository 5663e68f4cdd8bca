import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { makeUsers, type TestUser } from './fixtures/social.js';
import { FAST_ARGON2 } from './helpers/accounts-http.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, TRANSPORTS, type Transport, wsUrl } from './helpers/test-node.js';

/**
 * Rate classes on one node without Redis (the buckets in its memory): a
 * user's writes over HTTP and over the socket take from one bucket, reads
 * and bad requests take nothing, a refusal is 429 with Retry-After or an
 * `err` with `retryAfterMs`, and registration is limited per client address
 * (X-Forwarded-For believed only from TRUSTED_PROXIES).
 */
let node: ShutterNode;
/** Behind a trusted proxy (the test itself, on loopback), on each engine. */
const proxied = new Map<Transport, ShutterNode>();

beforeAll(async () => {
  const behindProxy = (t: Transport) =>
    startTestNode(t, { ...FAST_ARGON2, RATE_LIMITS: 'register=2/60s', TRUSTED_PROXIES: '127.0.0.0/8,::1' });
  const [n, ...p] = await Promise.all([
    startTestNode('ws', { ...FAST_ARGON2, RATE_LIMITS: 'write=4/60s,register=2/60s' }),
    ...TRANSPORTS.map(behindProxy),
  ]);
  node = n!;
  for (const [i, t] of TRANSPORTS.entries()) proxied.set(t, p[i]!);
});
afterAll(async () => {
  await Promise.all([node?.shutdown(), ...[...proxied.values()].map((p) => p.shutdown())]);
});

interface Answer {
  status: number;
  retryAfter: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field.
  body: any;
}

async function request(
  on: ShutterNode,
  user: TestUser | undefined,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const r = await fetch(`${on.url}${path}`, {
    method,
    headers: {
      ...headers,
      ...(user ? { authorization: `Bearer ${user.token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return {
    status: r.status,
    retryAfter: r.headers.get('retry-after'),
    body: text ? JSON.parse(text) : undefined,
  };
}

const follow = (u: TestUser, t: TestUser) => request(node, u, 'PUT', `/v1/users/${t.id}/follow`);

describe('rate classes on one node (memory)', () => {
  it('keeps its buckets in memory without REDIS_URL', () => {
    expect(node.ports.limiter.kind).toBe('memory');
  });

  it("a user's writes over both doors share one bucket; reads and bad requests take nothing; others are untouched", async () => {
    const [ada, bob, cy, dee] = await makeUsers(node, 4);
    const c = await RawClient.open(wsUrl(node), ada!.token, 'json');
    try {
      expect((await follow(ada!, bob!)).status).toBe(200);
      expect(await c.call({ t: 'req', method: 'graph.follow', params: { id: cy!.id } })).toMatchObject({
        t: 'res',
      });
      // Params the schema refuses are answered bad_request and cost nothing.
      for (let i = 0; i < 5; i++)
        expect(await c.call({ t: 'req', method: 'graph.follow', params: { id: 'nope' } })).toMatchObject({
          t: 'err',
          code: 'bad_request',
        });
      // Reads are unlimited by default.
      for (let i = 0; i < 20; i++)
        expect((await request(node, ada, 'GET', `/v1/users/${bob!.id}/relation`)).status).toBe(200);
      expect((await request(node, ada, 'DELETE', `/v1/users/${bob!.id}/follow`)).status).toBe(200);
      expect(await c.call({ t: 'req', method: 'graph.follow', params: { id: dee!.id } })).toMatchObject({
        t: 'res',
      });

      // Four writes taken: the fifth is refused on either door, with a hint of about one interval (15 s).
      const overHttp = await follow(ada!, bob!);
      expect(overHttp.status).toBe(429);
      expect(overHttp.body.error).toMatchObject({ code: 'rate_limited', details: { rateClass: 'write' } });
      expect(overHttp.body.error.retryAfterMs).toBeGreaterThan(13_000);
      expect(overHttp.body.error.retryAfterMs).toBeLessThanOrEqual(15_000);
      expect(overHttp.retryAfter).toBe(String(Math.ceil(overHttp.body.error.retryAfterMs / 1000)));
      const overWs = await c.call({ t: 'req', method: 'graph.unfollow', params: { id: cy!.id } });
      expect(overWs).toMatchObject({ t: 'err', code: 'rate_limited', details: { rateClass: 'write' } });
      expect((overWs as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(13_000);
      // Nothing was applied: ada still follows cy and does not follow bob.
      expect((await request(node, ada, 'GET', `/v1/users/${cy!.id}/relation`)).body).toMatchObject({
        following: 'active',
      });
      expect((await request(node, ada, 'GET', `/v1/users/${bob!.id}/relation`)).body).toMatchObject({
        following: 'none',
      });
      // Another user has a bucket of their own.
      expect((await follow(bob!, ada!)).status).toBe(200);
    } finally {
      c.close();
    }
  });

  it('limits registration per client address; X-Forwarded-For is ignored from an untrusted peer', async () => {
    const register = (on: ShutterNode, username: string, headers: Record<string, string> = {}) =>
      request(on, undefined, 'POST', '/v1/accounts', { username, password: `pw of ${username}!` }, headers);
    const forged = { 'x-forwarded-for': '198.51.100.1' };
    expect((await register(node, 'reg_one', forged)).status).toBe(201);
    expect((await register(node, 'reg_two', { 'x-forwarded-for': '198.51.100.2' })).status).toBe(201);
    const third = await register(node, 'reg_three', { 'x-forwarded-for': '198.51.100.3' });
    expect(third.status).toBe(429);
    expect(third.body.error).toMatchObject({ code: 'rate_limited', details: { rateClass: 'register' } });
    expect(third.body.error.retryAfterMs).toBeGreaterThan(25_000);
    expect(Number(third.retryAfter)).toBeGreaterThan(25);
    // Nothing was applied: the name is still free.
    expect((await request(node, undefined, 'GET', '/v1/users/reg_three')).status).toBe(404);
  });

  it.each(
    TRANSPORTS,
  )('behind a trusted proxy (%s), counts each client address X-Forwarded-For names, on both doors', async (t) => {
    const on = proxied.get(t)!;
    const register = (username: string, client: string) =>
      request(
        on,
        undefined,
        'POST',
        '/v1/accounts',
        { username, password: `pw of ${username}!` },
        { 'x-forwarded-for': client },
      );
    expect((await register(`${t}_a1`, '198.51.100.7')).status).toBe(201);
    expect((await register(`${t}_a2`, '198.51.100.7')).status).toBe(201);
    expect((await register(`${t}_a3`, '198.51.100.7')).status).toBe(429);
    // A client that writes an address of its own in front is known by the one the proxy appended.
    expect((await register(`${t}_a4`, '203.0.113.1, 198.51.100.7')).status).toBe(429);
    expect((await register(`${t}_b1`, '198.51.100.8')).status).toBe(201);

    // A socket's address is its upgrade's: 198.51.100.8 has one registration left, wherever it calls from.
    const c = await RawClient.connect(wsUrl(on), 'json', { 'x-forwarded-for': '198.51.100.8' });
    try {
      c.send({ t: 'hello', v: 1, token: await devToken(on, 'someone') });
      await c.next((m) => m.t === 'welcome');
      const params = (username: string) => ({ username, password: `pw of ${username}!` });
      expect(
        await c.call({ t: 'req', method: 'accounts.register', params: params(`${t}_b2`) }),
      ).toMatchObject({
        t: 'res',
      });
      expect(
        await c.call({ t: 'req', method: 'accounts.register', params: params(`${t}_b3`) }),
      ).toMatchObject({
        t: 'err',
        code: 'rate_limited',
        details: { rateClass: 'register' },
      });
    } finally {
      c.close();
    }
    expect((await register(`${t}_b4`, '198.51.100.8')).status).toBe(429);
  });
});
