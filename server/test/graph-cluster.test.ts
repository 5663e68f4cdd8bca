import { LOGICAL_SHARDS, newId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PgSql } from '../src/sql/index.js';
import { DomainCluster } from './helpers/domain-cluster.js';
import type { NodeProcess } from './helpers/node-process.js';

/**
 * The follow graph on a two-node cluster over two databases: each user's
 * actor lives on the node that owns its shard, so a follow between users on
 * different nodes is an ask across the bus; every side still lands in its
 * owner's database with its count.
 */
const USERS = 14;
const cluster = new DomainCluster('gcl');
const minter = cluster.minter;
let nodes: NodeProcess[] = [];
let dbA: PgSql;
let dbB: PgSql;
const dbOf = (id: string) => cluster.dbOf(id);

beforeAll(async () => {
  nodes = await cluster.start(2);
  ({ dbA, dbB } = cluster);
}, 60_000);
afterAll(() => cluster.teardown(), 60_000);

async function call(node: NodeProcess, token: string, method: string, path: string) {
  const r = await fetch(`${node.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
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
    await cluster.settled([a, b]);
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
    expect(await cluster.gauge(a, 'shutter_actors_activations')).toBeGreaterThan(0);
    expect(await cluster.gauge(b, 'shutter_actors_activations')).toBeGreaterThan(0);
  });
});
