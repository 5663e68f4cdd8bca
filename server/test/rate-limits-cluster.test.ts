import { performance } from 'node:perf_hooks';
import { LOGICAL_SHARDS, newId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainCluster } from './helpers/domain-cluster.js';
import type { NodeProcess } from './helpers/node-process.js';
import { RawClient } from './helpers/raw-client.js';

/**
 * The per-user rate limit holds for the user as a whole, not per node: two
 * nodes sharing Redis, one user alternating between them (HTTP on one,
 * the socket on the other) gets `write`'s allowance once. The retry hint is
 * honest: once it has passed, the write is allowed, on whichever node. The
 * per-address limits (registration, failed logins) hold across nodes too.
 */
const WRITES = 10;
const cluster = new DomainCluster('rlc', {
  // 10 writes, then one more each 3 s: the test waits seconds, not minutes.
  RATE_LIMITS: `write=${WRITES}/30s,register=3/60s`,
  AUTH_LOGIN_FAILURES_PER_USERNAME: '2',
  AUTH_ARGON2_MEMORY_KIB: '1024',
  AUTH_ARGON2_TIME_COST: '1',
});
let a: NodeProcess;
let b: NodeProcess;

beforeAll(async () => {
  [a, b] = (await cluster.start(2)) as [NodeProcess, NodeProcess];
  await cluster.settled([a, b]);
}, 60_000);
afterAll(() => cluster.teardown(), 60_000);

interface Answer {
  status: number;
  retryAfter: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field.
  body: any;
}

async function request(node: NodeProcess, method: string, path: string, token?: string, body?: unknown) {
  const r = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  const answer: Answer = {
    status: r.status,
    retryAfter: r.headers.get('retry-after'),
    body: text ? JSON.parse(text) : undefined,
  };
  return answer;
}

/** A user row on a shard of its own, and a token for it. */
async function user(i: number): Promise<{ id: string; token: string }> {
  const id = newId(Math.floor(((i + 0.5) * LOGICAL_SHARDS) / 8));
  await cluster.dbOf(id).query('INSERT INTO users (id, username) VALUES ($1, $2)', [id, `rl${i}`]);
  return { id, token: (await cluster.minter.mint(id, 600)).token };
}

async function waitAtLeast(ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) await new Promise((r) => setTimeout(r, until - performance.now() + 1));
}

describe('rate limits across two nodes', () => {
  it('a user alternating between nodes and doors gets one allowance; the hint is honest on either node', async () => {
    const [me, ...others] = await Promise.all([0, 1, 2, 3, 4, 5].map(user));
    const ws = await RawClient.open(b.wsUrl, me!.token, 'json');
    try {
      /** Write `i`: a follow or an unfollow of one of five users, over HTTP on `a` or the socket on `b`. */
      const write = async (i: number): Promise<{ ok: boolean; retryAfterMs?: number; node: string }> => {
        const target = others[i % others.length]!;
        const unfollow = Math.floor(i / others.length) % 2 === 1;
        if (i % 2 === 0) {
          const r = await request(a, unfollow ? 'DELETE' : 'PUT', `/v1/users/${target.id}/follow`, me!.token);
          if (r.status === 200) return { ok: true, node: 'a' };
          expect(r.status).toBe(429);
          expect(r.body.error).toMatchObject({ code: 'rate_limited', details: { rateClass: 'write' } });
          expect(Number(r.retryAfter)).toBe(Math.ceil(r.body.error.retryAfterMs / 1000));
          return { ok: false, retryAfterMs: r.body.error.retryAfterMs, node: 'a' };
        }
        const m = await ws.call({
          t: 'req',
          method: unfollow ? 'graph.unfollow' : 'graph.follow',
          params: { id: target.id },
        });
        if (m.t === 'res') return { ok: true, node: 'b' };
        expect(m).toMatchObject({ t: 'err', code: 'rate_limited', details: { rateClass: 'write' } });
        return { ok: false, retryAfterMs: (m as { retryAfterMs: number }).retryAfterMs, node: 'b' };
      };

      // Ten at once, five through each node: per node, neither would refuse yet.
      const answers = await Promise.all(Array.from({ length: WRITES }, (_, i) => write(i)));
      expect(answers.filter((x) => x.ok)).toHaveLength(WRITES);

      // The eleventh is refused on whichever node it goes to, with a hint of at most one interval (3 s).
      for (const i of [WRITES, WRITES + 1]) {
        const refused = await write(i);
        expect(refused.ok, `write ${i} on ${refused.node}`).toBe(false);
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(3000);
      }

      // Honest: after the hint, the write is allowed — on either node — and the next one is refused again.
      for (const i of [WRITES + 2, WRITES + 3]) {
        const refused = await write(i);
        expect(refused.ok).toBe(false);
        await waitAtLeast(refused.retryAfterMs!);
        const retried = await write(i);
        expect(retried.ok, `write ${i} on ${retried.node} after ${refused.retryAfterMs} ms`).toBe(true);
        const next = await write(i + 1);
        expect(next.ok).toBe(false);
        expect(next.retryAfterMs).toBeGreaterThan(2500);
      }
      // Reads were never limited.
      for (let i = 0; i < 30; i++)
        expect(
          (await request(i % 2 ? a : b, 'GET', `/v1/users/${others[0]!.id}/relation`, me!.token)).status,
        ).toBe(200);
    } finally {
      ws.close();
    }
  });

  it('registrations from one address are counted once across the nodes', async () => {
    const register = (node: NodeProcess, username: string) =>
      request(node, 'POST', '/v1/accounts', undefined, { username, password: `password of ${username}` });
    expect((await register(a, 'rlc_one')).status).toBe(201);
    expect((await register(b, 'rlc_two')).status).toBe(201);
    expect((await register(a, 'rlc_three')).status).toBe(201);
    const fourth = await register(b, 'rlc_four');
    expect(fourth.status).toBe(429);
    expect(fourth.body.error).toMatchObject({ code: 'rate_limited', details: { rateClass: 'register' } });
    expect(fourth.body.error.retryAfterMs).toBeGreaterThan(15_000);
    expect((await register(a, 'rlc_five')).status).toBe(429);
  });

  it("a username's failed logins are counted once across the nodes", async () => {
    const login = (node: NodeProcess, password: string) =>
      request(node, 'POST', '/v1/sessions', undefined, { username: 'rlc_one', password });
    expect((await login(a, 'wrong one')).body.error.code).toBe('invalid_credentials');
    expect((await login(b, 'wrong two')).body.error.code).toBe('invalid_credentials');
    // Per node each has seen one failure of the two allowed; together they have seen two.
    const refused = await login(a, 'password of rlc_one');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect((await login(b, 'password of rlc_one')).status).toBe(429);
  });
});
