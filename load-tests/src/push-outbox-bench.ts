/**
 * Push outbox benchmark (docs/push.md, "Measured"): how fast one node drains
 * its outbox to an HTTP provider, and what each push costs the node.
 *
 * A Shutter node (server/src/main.ts, Postgres, PUSH_PROVIDER=http) pinned
 * to one core with `taskset`; a receiver in this process (on the other
 * core) answers every POST 200 at once. `--users` users with two devices
 * each get `--per-user` notifications, written straight into the node's
 * tables while the node is running (so it finds them by polling, as a node
 * finds pushes another node enqueued). Reported: pushes per second from the
 * first to the last received, per server CPU-second (from /proc), and
 * whether every (notification, device) arrived exactly once.
 *
 *   flock -w 900 /tmp/shutter-heavy.lock node --conditions=source --import tsx \
 *     load-tests/src/push-outbox-bench.ts [--users 2500] [--per-user 4] [--concurrency 32] [--cpu 1]
 *
 * Loopback only; its port is in 16200–16249; drops its schema at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PgSql } from '@shutter/server/sql';
import { cpuSeconds } from './fanout/proc.js';
import { startPinnedNode } from './pinned-node.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '2500' },
    'per-user': { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '32' },
    cpu: { type: 'string', default: '1' },
    port: { type: 'string', default: '16210' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const users = Number(args.users);
const perUser = Number(args['per-user']);
const port = Number(args.port);
if (!(port >= 16200 && port <= 16249)) throw new Error('--port must be in 16200–16249');
if (!['127.0.0.1', 'localhost'].includes(new URL(args['database-url']).hostname))
  throw new Error('benchmarks talk to loopback only');

const root = fileURLToPath(new URL('../..', import.meta.url));
const namespace = `bench_push_${randomBytes(3).toString('hex')}`;
const dataDir = mkdtempSync(join(tmpdir(), 'shutter-push-bench-'));
const expected = users * 2 * perUser;

const seen = new Map<string, number>();
let first = 0;
let last = 0;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { notificationId: string; token: string };
    const key = `${body.notificationId} ${body.token}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    last = performance.now();
    first ||= last;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));

let child: ChildProcess | undefined;
async function startNode(): Promise<ChildProcess> {
  return startPinnedNode({
    root,
    cpu: args.cpu!,
    port,
    started: (c) => {
      child = c;
    },
    env: {
      DATA_DIR: dataDir,
      NAMESPACE: namespace,
      DATABASE_URL: args['database-url'],
      PUSH_PROVIDER: 'http',
      PUSH_HTTP_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/push`,
      PUSH_CONCURRENCY: args.concurrency!,
      PUSH_POLL_MS: '100',
    },
  });
}

const sql = new PgSql(args['database-url'], namespace, 2);
try {
  const c = await startNode();
  // Devices, then the outbox rows: one per (notification, device), as an enqueue writes them.
  await sql.query(
    `INSERT INTO devices (user_id, device_id, platform, token)
     SELECT u, d, CASE d WHEN 'ios' THEN 'apns' ELSE 'fcm' END, md5(u::text || d) || md5(d || u::text)
     FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, $1)) users, unnest(ARRAY['ios', 'android']) d`,
    [users],
  );
  const pid = c.pid!;
  const cpu0 = cpuSeconds(pid);
  await sql.query(
    `INSERT INTO push_outbox (user_id, device_id, notification_id, message)
     SELECT user_id, device_id, user_id::text || '-' || k, '{"body":"alice liked your photo","collapseKey":"like:p","badge":3}'
     FROM devices, generate_series(1, $1) k`,
    [perUser],
  );
  const deadline = Date.now() + 600_000;
  while (seen.size < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1000));
  const cpu = cpuSeconds(pid) - cpu0;
  const wall = (last - first) / 1000;
  const twice = [...seen.values()].filter((n) => n > 1).length;
  console.info(
    `${expected} pushes (${users} users × 2 devices × ${perUser}), concurrency ${args.concurrency}, node pinned to cpu ${args.cpu}: ` +
      `${seen.size} received, ${twice} more than once; ${(seen.size / wall).toFixed(0)} pushes/s over ${wall.toFixed(1)} s, ` +
      `${(seen.size / cpu).toFixed(0)} per server CPU-second (${cpu.toFixed(1)} CPU-s)`,
  );
} finally {
  if (child && child.exitCode === null) {
    const c = child;
    await new Promise((r) => {
      c.once('exit', r);
      c.kill('SIGTERM');
    });
  }
  await sql.close();
  receiver.close();
  const admin = new PgSql(args['database-url'], 'public', 1);
  await admin.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
  await admin.close();
  rmSync(dataDir, { recursive: true, force: true });
}
