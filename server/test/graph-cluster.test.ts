import { LOGICAL_SHARDS, newId, shardOfId } from '@shutter/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HsMinter } from '../src/auth/tokens.js';
import { userMigrations } from '../src/capabilities/accounts/users.js';
import { migrate, PgSql } from '../src/sql/index.js';
import { NodeProcess } from './helpers/node-process.js';
import {
  deleteNamespaceStreams,
  natsUrl,
  postgresUrl,
  postgresUrlB,
  redisUrl,
  testShards,
  uniqueName,
} from './services.js';

/**
 * The follow graph on a two-node cluster over two databases: each user's
 * actor lives on the node that owns its shard, so a follow between users on
 * different nodes is an ask across the bus; every side still lands in its
 * owner's database with its count.
 */
const USERS = 14;
const secret = 'graph-cluster-test-secret-0123456789abcdef';
const metricsToken = 'graph-cluster-metrics-token-0123456789';
const namespace = uniqueName('gcl')
  .toLowerCase()
  .replace(/[^a-z0-9_]/g, '_')
  .slice(0, 32);
const env = {
  TRANSPORT: 'ws',
  CLUSTER: 'true',
  NATS_URL: natsUrl,
  REDIS_URL: redisUrl,
  DATABASE_URL: postgresUrl,
  DATABASE_SHARDS: testShards,
  NAMESPACE: namespace,
  AUTH_JWT_SECRET: secret,
  METRICS_TOKEN: metricsToken,
  CLUSTER_HEARTBEAT_MS: '250',
  CLUSTER_LEASE_MS: '1500',
};
const minter = new HsMinter(new TextEncoder().encode(secret));

let nodes: NodeProcess[] = [];
let dbA: PgSql;
let dbB: PgSql;
/** The database of a user, as DATABASE_SHARDS (testShards) maps its shard. */
const dbOf = (id: string) => ((shardOfId(id) ?? 0) < 512 ? dbA : dbB);

beforeAll(async () => {
  nodes = await Promise.all([NodeProcess.start(env), NodeProcess.start(env)]);
  dbA = new PgSql(postgresUrl, namespace, 4);
  dbB = new PgSql(postgresUrlB, namespace, 4);
  for (const db of [dbA, dbB]) await migrate(db, userMigrations);
}, 60_000);
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.kill()));
  await dbA?.close();
  await dbB?.close();
  for (const url of [postgresUrl, postgresUrlB]) {
    const admin = new PgSql(url, 'public', 1);
    await admin.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
    await admin.close();
  }
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${namespace}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
  await deleteNamespaceStreams(namespace);
}, 60_000);

async function call(node: NodeProcess, token: string, method: string, path: string) {
  const r = await fetch(`${node.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function gauge(node: NodeProcess, name: string): Promise<number> {
  const r = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
  const line = (await r.text()).split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  // Absent until the node's cluster has started.
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Until both nodes own shards and the split has not changed for a second (the join's moves are done). */
async function settled(a: NodeProcess, b: NodeProcess): Promise<void> {
  const end = Date.now() + 30_000;
  let last = '';
  let stableSince = Date.now();
  for (;;) {
    const split = [
      await gauge(a, 'shutter_cluster_owned_shards'),
      await gauge(b, 'shutter_cluster_owned_shards'),
    ];
    const now = `${split[0]}/${split[1]}`;
    if (now !== last) [last, stableSince] = [now, Date.now()];
    if (split[0]! > 0 && split[1]! > 0 && Date.now() - stableSince >= 1000) return;
    if (Date.now() > end) throw new Error(`cluster did not settle: ${now}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('follow graph on a cluster', () => {
  it('follows between users on different nodes land on both sides with exact counts', async () => {
    const users: { id: string; token: string; private: boolean }[] = [];
    for (let i = 0; i < USERS; i++) {
      // Shards spread over the whole range: both databases, and both nodes' halves of the shard map.
      const id = newId(Math.floor(((i + 0.5) * LOGICAL_SHARDS) / USERS));
      const priv = i === 0;
      await dbOf(id).query('INSERT INTO users (id, username, private) VALUES ($1, $2, $3)', [
        id,
        `c${i}`,
        priv,
      ]);
      users.push({ id, token: (await minter.mint(id, 600)).token, private: priv });
    }
    const [a, b] = nodes as [NodeProcess, NodeProcess];
    await settled(a, b);
    // Everyone follows everyone, all at once, each call through one node or the other.
    const calls: Promise<{ status: number; body: Record<string, unknown> }>[] = [];
    let k = 0;
    for (const f of users)
      for (const t of users)
        if (f !== t) calls.push(call(k++ % 2 ? a : b, f.token, 'PUT', `/v1/users/${t.id}/follow`));
    const answers = await Promise.all(calls);
    expect(answers.filter((x) => x.status !== 200)).toEqual([]);
    const owner = users[0]!;
    expect(answers.filter((x) => x.body.state === 'pending').length).toBe(USERS - 1);

    // The private user approves one request through the other node.
    const approved = users[1]!;
    expect(
      (await call(b, owner.token, 'POST', `/v1/me/follow-requests/${approved.id}/approve`)).body.state,
    ).toBe('active');

    for (const u of users) {
      const sql = dbOf(u.id);
      const rows = await sql.query<{ dir: string; state: string; n: number }>(
        'SELECT dir, state, count(*)::int AS n FROM follows WHERE user_id = $1 GROUP BY dir, state',
        [u.id],
      );
      const n = (dir: string, state: string) =>
        rows.rows.find((r) => r.dir === dir && r.state === state)?.n ?? 0;
      const counts = (
        await sql.query<{ f: number; g: number }>(
          'SELECT follower_count AS f, following_count AS g FROM users WHERE id = $1',
          [u.id],
        )
      ).rows[0]!;
      expect({ f: counts.f, g: counts.g }).toEqual({ f: n('in', 'active'), g: n('out', 'active') });
      const followsOwner = u === owner ? 0 : u === approved ? 1 : 0;
      expect(n('out', 'active')).toBe(USERS - 2 + followsOwner + (u === owner ? 1 : 0));
      // No row of this user in the other database.
      const other = sql === dbA ? dbB : dbA;
      expect((await other.query('SELECT 1 FROM follows WHERE user_id = $1', [u.id])).rowCount).toBe(0);
    }
    expect(
      (await call(a, owner.token, 'GET', `/v1/users/${owner.id}/followers?limit=100`)).body.items,
    ).toHaveLength(1);
    // Both nodes host user actors: the follows crossed between them.
    expect(await gauge(a, 'shutter_actors_activations')).toBeGreaterThan(0);
    expect(await gauge(b, 'shutter_actors_activations')).toBeGreaterThan(0);
  });
});
