import { randomBytes } from 'node:crypto';
import { newId } from '@shutter/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PushNotification } from '../src/capabilities/push-outbox.js';
import type { ShutterNode } from '../src/node.js';
import { SqlPushOutbox } from '../src/push/sql-push-outbox.js';
import { PgSql } from '../src/sql/index.js';
import { Databases } from '../src/storage/databases.js';
import { NodeProcess } from './helpers/node-process.js';
import { PushReceiver, type ReceivedPush } from './helpers/push-receiver.js';
import { startTestNode } from './helpers/test-node.js';
import { postgresUrl, postgresUrlB, testShards, uniqueName } from './services.js';

/**
 * The push outbox across nodes sharing the same two databases: two nodes
 * draining one outbox never send a row twice; a node stopped with pushes
 * pending leaves them to the next; a node killed mid-send leaves what it
 * held to another once the lease ends. The guarantee: every push reaches
 * the provider at least once; a second copy goes out only for a push a node
 * had handed to the provider when it died (or stopped), never while a live
 * node holds the row's lease.
 */
let receiver: PushReceiver;
/** Each test's own schema on both databases, and the nodes it started. */
let ns: string;
let nodes: ShutterNode[] = [];
let processes: NodeProcess[] = [];
let a: PgSql | undefined;
let b: PgSql | undefined;

beforeAll(async () => {
  receiver = await PushReceiver.start();
});
afterAll(() => receiver?.close());
afterEach(async () => {
  for (const p of processes) await p.kill();
  for (const n of nodes) await n.shutdown();
  receiver.dropHeld();
  for (const sql of [a, b]) {
    await sql?.query(`DROP SCHEMA IF EXISTS ${ns} CASCADE`);
    await sql?.close();
  }
  a = b = undefined;
  nodes = [];
  processes = [];
});

/** Push settings of every node here: short backoff and lease, a fast poll. */
const pushEnv = (extra: Record<string, string> = {}) => ({
  NAMESPACE: ns,
  PUSH_PROVIDER: 'http',
  PUSH_HTTP_URL: receiver.url,
  PUSH_BACKOFF_BASE_MS: '200',
  PUSH_BACKOFF_MAX_MS: '400',
  PUSH_MAX_ATTEMPTS: '50',
  PUSH_HTTP_TIMEOUT_MS: '2000',
  PUSH_LEASE_MS: '3000',
  PUSH_POLL_MS: '100',
  ...extra,
});

async function startNode(extra: Record<string, string> = {}): Promise<ShutterNode> {
  const node = await startTestNode('ws', pushEnv(extra));
  nodes.push(node);
  return node;
}

/** Opens both databases of the test's schema as the nodes see them (after a node made the tables). */
function openDatabases(): Databases {
  const onA = new PgSql(postgresUrl, ns, 4);
  const onB = new PgSql(postgresUrlB, ns, 4);
  [a, b] = [onA, onB];
  return new Databases(Array.from({ length: 1024 }, (_, s) => (s < 512 ? onA : onB)));
}

/**
 * `users` users (half on each database) with two devices each, registered
 * straight in the tables, and `perUser` notifications each, enqueued
 * through an outbox that wakes no node: every node finds them by polling.
 * Answers the pushes expected, one key (`notificationId token`) each.
 */
async function seed(db: Databases, users: number, perUser: number): Promise<string[]> {
  const keys: string[] = [];
  const items: PushNotification[] = [];
  for (let i = 0; i < users; i++) {
    const userId = newId(i % 2 === 0 ? 7 : 900);
    for (const [deviceId, platform] of [
      ['ios', 'apns'],
      ['android', 'fcm'],
    ] as const) {
      const token =
        platform === 'apns' ? randomBytes(32).toString('hex') : `fcm-${randomBytes(20).toString('hex')}`;
      await db
        .forId(userId)
        .query('INSERT INTO devices (user_id, device_id, platform, token) VALUES ($1, $2, $3, $4)', [
          userId,
          deviceId,
          platform,
          token,
        ]);
      for (let k = 0; k < perUser; k++) keys.push(`${userId}-${k} ${token}`);
    }
    for (let k = 0; k < perUser; k++) items.push({ notificationId: `${userId}-${k}`, userId, body: `n${k}` });
  }
  await new SqlPushOutbox(db).enqueue(items);
  return keys;
}

const keyOf = (p: ReceivedPush) => `${p.body.notificationId} ${p.body.token}`;

/** How many times each key was received (or answered 200, with `okOnly`). */
function counts(received: readonly ReceivedPush[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of received) m.set(keyOf(p), (m.get(keyOf(p)) ?? 0) + 1);
  return m;
}

async function states(db: Databases): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const sql of db.all) {
    const r = await sql.query<{ state: string; attempts: number; n: number }>(
      'SELECT state, attempts, count(*)::int AS n FROM push_outbox GROUP BY state, attempts',
    );
    for (const row of r.rows)
      out[`${row.state}/${row.attempts}`] = (out[`${row.state}/${row.attempts}`] ?? 0) + row.n;
  }
  return out;
}

async function sentBy(node: ShutterNode): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('shutter_push_sent_total{'));
  return Number(line?.split(' ').pop() ?? 0);
}

describe('push outbox across nodes', () => {
  it('two nodes draining the same databases never both send a row', async () => {
    ns = uniqueName('push2').toLowerCase().slice(0, 32);
    receiver.received.length = 0;
    receiver.answer = async () => {
      await new Promise((r) => setTimeout(r, 5));
      return { status: 200, body: {} };
    };
    const [n1, n2] = [await startNode({ PUSH_CONCURRENCY: '8' }), await startNode({ PUSH_CONCURRENCY: '8' })];
    const db = openDatabases();
    const keys = await seed(db, 100, 3);
    expect(keys).toHaveLength(600);
    await receiver.until(() => receiver.received.length >= keys.length, 30_000, 'every push');
    await new Promise((r) => setTimeout(r, 500));
    const got = counts(receiver.received);
    expect([...got.keys()].sort()).toEqual([...keys].sort());
    expect([...got.values()].every((n) => n === 1)).toBe(true);
    expect(await states(db)).toEqual({ 'sent/1': 600 });
    const [s1, s2] = [await sentBy(n1 as ShutterNode), await sentBy(n2 as ShutterNode)];
    expect(s1 + s2).toBe(600);
    // Both took part: each claimed rows the other skipped (SKIP LOCKED), not one node doing it all.
    expect(Math.min(s1, s2)).toBeGreaterThan(0);
  });

  it('a node stopped with pushes pending leaves them to the next node, which sends each', async () => {
    ns = uniqueName('push3').toLowerCase().slice(0, 32);
    receiver.received.length = 0;
    let up = false;
    const ok: ReceivedPush[] = [];
    receiver.answer = (p) => {
      if (!up) return { status: 503, body: {} };
      ok.push(p);
      return { status: 200, body: {} };
    };
    const first = await startNode();
    const db = openDatabases();
    const keys = await seed(db, 10, 2);
    await receiver.until(
      () => counts(receiver.received).size === keys.length,
      15_000,
      'a first attempt of each',
    );
    await first.shutdown();
    nodes = nodes.filter((n) => n !== first);
    const pending = await states(db);
    expect(Object.keys(pending).every((k) => k.startsWith('pending/'))).toBe(true);
    expect(Object.values(pending).reduce((x, y) => x + y, 0)).toBe(keys.length);

    up = true;
    await startNode();
    await receiver.until(() => ok.length >= keys.length, 15_000, 'every push sent');
    await new Promise((r) => setTimeout(r, 500));
    const got = counts(ok);
    expect([...got.keys()].sort()).toEqual([...keys].sort());
    expect([...got.values()].every((n) => n === 1)).toBe(true);
    const after = await states(db);
    expect(Object.keys(after).every((k) => k.startsWith('sent/'))).toBe(true);
  });

  it('a node killed mid-send: what it held is sent again by another after the lease, the rest once', async () => {
    ns = uniqueName('push4').toLowerCase().slice(0, 32);
    receiver.received.length = 0;
    receiver.answer = () => 'hold';
    // A real process, so it can be killed; it makes the tables at start.
    const victim = await NodeProcess.start({
      DATABASE_URL: postgresUrl,
      DATABASE_SHARDS: testShards,
      NODE_ENV: 'test',
      ...pushEnv({ PUSH_CONCURRENCY: '4' }),
    });
    processes.push(victim);
    const db = openDatabases();
    const keys = await seed(db, 5, 2);
    expect(keys).toHaveLength(20);
    // The victim claims 4 (its concurrency) and the receiver holds them unanswered.
    await receiver.until(() => receiver.received.length === 4, 10_000, 'the victim to send 4');
    const held = receiver.received.map(keyOf);
    const heldAt = Math.max(...receiver.received.map((p) => p.at));
    await victim.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received).toHaveLength(4);

    receiver.answer = () => ({ status: 200, body: {} });
    await startNode();
    await receiver.until(() => receiver.received.length >= 24, 15_000, 'every push, the held ones twice');
    await new Promise((r) => setTimeout(r, 500));
    const got = counts(receiver.received);
    expect([...got.keys()].sort()).toEqual([...keys].sort());
    for (const k of keys) expect([k, got.get(k)]).toEqual([k, held.includes(k) ? 2 : 1]);
    // The held ones went again only once the victim's lease (3 s from its claim) had run out.
    for (const p of receiver.received.slice(4)) {
      if (held.includes(keyOf(p))) expect(p.at - heldAt).toBeGreaterThanOrEqual(3000 - 500);
    }
    expect(await states(db)).toEqual({ 'sent/1': 16, 'sent/2': 4 });
  });
});
