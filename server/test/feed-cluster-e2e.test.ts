import { createClient, type ShutterClient } from '@shutter/client-sdk';
import { newId, shardOfId } from '@shutter/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HsMinter } from '../src/auth/tokens.js';
import { PgSql } from '../src/sql/index.js';
import { NodeProcess } from './helpers/node-process.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import {
  deleteNamespaceStreams,
  natsUrl,
  postgresUrl,
  postgresUrlB,
  redisUrl,
  testShards,
  uniqueName,
} from './services.js';

// Issue 9's end-to-end must-show: 200 followers online across two nodes of a
// cluster (on two physical shards), an author posts through the real post
// path, every follower's handler gets the item exactly once; one follower's
// socket is cut mid-way and it misses nothing; a third node joins while the
// post fans out, shards move, and no other socket is closed by it.
const FOLLOWERS = 200;
const secret = 'feed-cluster-e2e-secret-0123456789abcdef';
const namespace = uniqueName('fce')
  .toLowerCase()
  .replace(/[^a-z0-9_]/g, '_')
  .slice(0, 32);
const env = {
  TRANSPORT: 'uws',
  CLUSTER: 'true',
  NATS_URL: natsUrl,
  REDIS_URL: redisUrl,
  DATABASE_URL: postgresUrl,
  DATABASE_SHARDS: testShards,
  NAMESPACE: namespace,
  AUTH_JWT_SECRET: secret,
  METRICS_TOKEN: 'feed-cluster-e2e-metrics-token-0123456789',
  CLUSTER_HEARTBEAT_MS: '250',
  CLUSTER_LEASE_MS: '1500',
};
const minter = new HsMinter(new TextEncoder().encode(secret));
const until = async (cond: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

async function api<T>(
  node: NodeProcess,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<T> {
  const r = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

describe('a post reaches 200 followers on a cluster exactly once', () => {
  const nodes: NodeProcess[] = [];
  const clients: ShutterClient[] = [];
  let proxy: TcpProxy;
  beforeAll(async () => {
    nodes.push(...(await Promise.all([NodeProcess.start(env), NodeProcess.start(env)])));
    proxy = await new TcpProxy(nodes[0]!.port).start();
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await proxy?.close();
    await Promise.all(nodes.map((n) => n.kill()));
    const r = new Redis(redisUrl);
    const keys = await r.keys(`${namespace}:*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
    for (const url of [postgresUrl, postgresUrlB]) {
      const admin = new PgSql(url, 'public', 1);
      await admin.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
      await admin.close();
    }
    await deleteNamespaceStreams(namespace);
  }, 60_000);

  it('delivers once to each, resumes the cut one, and a joining node closes no socket', async () => {
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    const register = async (node: NodeProcess, username: string) =>
      api<{ user: { id: string }; accessToken: string }>(node, 'POST', '/v1/accounts', '', {
        username,
        password: `pw-${username}-long-enough`,
      });
    const author = await register(a, 'celebrity_e2e');
    const followers: { id: string; token: string }[] = [];
    for (let i = 0; i < FOLLOWERS; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, FOLLOWERS - i) }, (_, k) =>
          register(i % 40 === 0 ? a : b, `fan_${i + k}`),
        ),
      );
      followers.push(...batch.map((r) => ({ id: r.user.id, token: r.accessToken })));
    }
    await Promise.all(
      followers.map((f, i) => api(i % 2 ? a : b, 'PUT', `/v1/users/${author.user.id}/follow`, f.token)),
    );

    // Each follower online on one of the two nodes (the first one through a proxy we can cut).
    const got = new Map<string, string[]>();
    let reconnects = 0;
    await Promise.all(
      followers.map(async (f, i) => {
        const c = createClient({
          url: i === 0 ? proxy.wsUrl : (i % 2 ? a : b).url.replace('http', 'ws') + '/ws',
          getToken: async () => (await minter.mint(f.id, 600)).token,
          WebSocket: WebSocket as never,
          backoff: { minMs: 50, maxMs: 500 },
          resumeJitterMs: 50,
        });
        clients.push(c);
        got.set(f.id, []);
        c.on('reconnect', () => {
          if (i !== 0) reconnects++;
        });
        c.subscribe(`user:${f.id}:feed`, (e) => got.get(f.id)?.push(JSON.stringify(e.data)));
        c.connect();
        await c.ready(10_000);
        await until(
          () => c.getSubscription(`user:${f.id}:feed`)?.state === 'subscribed',
          10_000,
          'subscribed',
        );
      }),
    );

    // A ready photo of the author's (media records live in the home database).
    const home = new PgSql(postgresUrl, namespace, 1);
    const mediaId = `e2e-${newId(0)}`;
    await home.query(
      `INSERT INTO media_items (id, owner_id, status, original_key, original_bytes, declared_type, format, width, height, variants, ready_at)
       VALUES ($1, $2, 'ready', 'originals/x', 1, 'image/jpeg', 'jpeg', 10, 10, '[]', now())`,
      [mediaId, author.user.id],
    );
    await home.close();

    proxy.cut(); // the first follower drops off just before the post
    const joining = NodeProcess.start(env); // and a third node joins while it fans out
    const postId = newId(shardOfId(author.user.id) ?? 0);
    await api(a, 'POST', '/v1/posts', author.accessToken, { id: postId, mediaIds: [mediaId] });
    const third = await joining;
    nodes.push(third);
    // The joining node took shards over (moved from the two others while they served).
    const owned = async () => {
      const r = await fetch(`${third.url}/metrics`, {
        headers: { authorization: `Bearer ${env.METRICS_TOKEN}` },
      });
      return Number(/^shutter_cluster_owned_shards (\d+)/m.exec(await r.text())?.[1] ?? 0);
    };
    const joinedBy = Date.now() + 20_000;
    while ((await owned()) === 0 && Date.now() < joinedBy) await new Promise((r) => setTimeout(r, 200));
    expect(await owned()).toBeGreaterThan(0);

    await until(
      () => [...got.values()].every((l) => l.some((d) => d.includes(postId))),
      30_000,
      'every follower got it',
    );
    await new Promise((r) => setTimeout(r, 1000)); // anything twice would have arrived by now
    for (const [id, events] of got) {
      expect(
        events.filter((d) => d.includes(postId)),
        `follower ${id}`,
      ).toHaveLength(1);
    }
    expect(reconnects).toBe(0);
  }, 180_000);
});
