import { createClient, type ShutterClient } from '@shutter/client-sdk';
import { newId, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DomainCluster } from './helpers/domain-cluster.js';
import type { NodeProcess } from './helpers/node-process.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

// Issue 9's end-to-end must-show: 200 followers online across two nodes of a
// cluster (on two physical shards), an author posts through the real post
// path, every follower's handler gets the item exactly once; one follower's
// socket is cut mid-way and it misses nothing; a third node joins while the
// post fans out, shards move, and no other socket is closed by it.
const FOLLOWERS = 200;
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
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

describe.each([
  // 200 followers under the threshold: the post is written into each follower's feed and stream.
  {
    mode: 'fan-out on write',
    threshold: '10000',
    stream: (follower: string, _author: string) => `user:${follower}:feed`,
  },
  // Over it: one publish on the author's stream, which each follower's client subscribes to.
  {
    mode: 'fan-out on read',
    threshold: '100',
    stream: (_follower: string, author: string) => `author:${author}:posts`,
  },
])('a post reaches 200 followers on a cluster exactly once ($mode)', ({ threshold, stream }) => {
  // 201 registrations from one address: more than the per-address limit (rate-limits-cluster.test.ts).
  const cluster = new DomainCluster('fce', {
    TRANSPORT: 'uws',
    FEED_FANOUT_THRESHOLD: threshold,
    RATE_LIMITS: 'register=off',
  });
  const minter = cluster.minter;
  const clients: ShutterClient[] = [];
  let proxy: TcpProxy;
  beforeAll(async () => {
    await cluster.start(2);
    proxy = await new TcpProxy(cluster.nodes[0]!.port).start();
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await proxy?.close();
    await cluster.teardown();
  }, 60_000);

  it('delivers once to each, resumes the cut one, and a joining node closes no socket', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    const register = async (node: NodeProcess, username: string) =>
      api<{ user: { id: string }; accessToken: string }>(node, 'POST', '/v1/accounts', '', {
        username,
        password: `pw-${username}-long-enough`,
      });
    const author = await register(a, `author_${threshold}`);
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
    let cutReconnects = 0;
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
        c.on('reconnect', () => {
          if (i === 0) cutReconnects++;
        });
        c.subscribe(stream(f.id, author.user.id), (e) => got.get(f.id)?.push(JSON.stringify(e.data)));
        c.connect();
        await c.ready(10_000);
        await until(
          () => c.getSubscription(stream(f.id, author.user.id))?.state === 'subscribed',
          10_000,
          'subscribed',
        );
      }),
    );

    // A ready photo of the author's (media records live in the home database).
    const home = cluster.dbA;
    const mediaId = `e2e-${newId(0)}`;
    await home.query(
      `INSERT INTO media_items (id, owner_id, status, original_key, original_bytes, declared_type, format, width, height, variants, ready_at)
       VALUES ($1, $2, 'ready', 'originals/x', 1, 'image/jpeg', 'jpeg', 10, 10, '[]', now())`,
      [mediaId, author.user.id],
    );

    // The first follower drops off just before the post, and stays off until everyone else has it.
    proxy.stall();
    proxy.cut();
    const joining = cluster.join(); // and a third node joins while it fans out
    const postId = newId(shardOfId(author.user.id) ?? 0);
    await api(a, 'POST', '/v1/posts', author.accessToken, { id: postId, mediaIds: [mediaId] });
    const third = await joining;
    // The joining node took shards over (moved from the two others while they served).
    const owned = () => cluster.gauge(third, 'shutter_cluster_owned_shards');
    const joinedBy = Date.now() + 20_000;
    while ((await owned()) === 0 && Date.now() < joinedBy) await new Promise((r) => setTimeout(r, 200));
    expect(await owned()).toBeGreaterThan(0);

    const cutOff = followers[0]!.id;
    await until(
      () => [...got].every(([id, l]) => id === cutOff || l.some((d) => d.includes(postId))),
      30_000,
      'every online follower got it',
    );
    expect(got.get(cutOff)?.some((d) => d.includes(postId))).toBe(false);
    expect(cutReconnects).toBeGreaterThan(0);
    proxy.unstall(); // back: it resumes its stream and gets what it missed
    await until(
      () => got.get(cutOff)?.some((d) => d.includes(postId)) === true,
      30_000,
      'the cut follower got it',
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
