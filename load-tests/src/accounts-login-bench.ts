/**
 * Login benchmark (docs/performance.md, "Logins"): what one core of the
 * server spends per password login at the configured argon2id cost.
 *
 * 1. raw: `verify` of @node-rs/argon2 at that cost, one at a time in this
 *    process (the floor: one verification per login);
 * 2. end to end: a Shutter node (server/src/main.ts, Postgres) pinned to one
 *    core with `taskset` (its event loop and libuv's hashing threads share
 *    it), one registered user, and `--concurrency` loops of
 *    `POST /v1/sessions` with the right password for `--seconds`. Reported:
 *    logins per second, per server CPU-second (from /proc), and latency.
 *
 *   flock -w 900 /tmp/shutter-heavy.lock node --conditions=source --import tsx \
 *     load-tests/src/accounts-login-bench.ts [--memory 19456 --time 2] [--seconds 15] [--cpu 1]
 *
 * Loopback only; its port is in 16000–16199; drops its schema at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Algorithm, hash, verify } from '@node-rs/argon2';
import { PgSql } from '@shutter/server/sql';
import { cpuSeconds } from './fanout/proc.js';
import { startPinnedNode } from './pinned-node.js';
import { Hdr } from './runner/hdr.js';

const { values: args } = parseArgs({
  options: {
    memory: { type: 'string', default: '19456' },
    time: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '8' },
    cpu: { type: 'string', default: '1' },
    port: { type: 'string', default: '16042' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const memoryKib = Number(args.memory);
const timeCost = Number(args.time);
const seconds = Number(args.seconds);
const concurrency = Number(args.concurrency);
const port = Number(args.port);
if (!(port >= 16000 && port <= 16199)) throw new Error('--port must be in 16000–16199');
if (!['127.0.0.1', 'localhost'].includes(new URL(args['database-url']).hostname))
  throw new Error('benchmarks talk to loopback only');

const root = fileURLToPath(new URL('../..', import.meta.url));
const namespace = `bench_login_${randomBytes(3).toString('hex')}`;
const dataDir = mkdtempSync(join(tmpdir(), 'shutter-login-bench-'));
const password = 'a bench password of some length';

/** Wall and CPU (this process, all threads) ms of one verification, one at a time. */
async function raw(): Promise<{ wallMs: number; cpuMs: number }> {
  const stored = await hash(password, {
    algorithm: 2 as Algorithm,
    memoryCost: memoryKib,
    timeCost,
    parallelism: 1,
  });
  await verify(stored, password);
  const n = 40;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await verify(stored, password);
  const c = process.cpuUsage(c0);
  return { wallMs: (performance.now() - t0) / n, cpuMs: (c.user + c.system) / 1000 / n };
}

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
      AUTH_JWT_SECRET: randomBytes(32).toString('hex'),
      AUTH_ARGON2_MEMORY_KIB: String(memoryKib),
      AUTH_ARGON2_TIME_COST: String(timeCost),
      MAX_HTTP_REQUESTS: '10000',
      // One client logs in as fast as it can: the per-address login limit would stop it in a second.
      RATE_LIMITS: 'login=off',
    },
  });
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function endToEnd() {
  const c = await startNode();
  const r = await post('/v1/accounts', { username: 'bench_user', password });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${await r.text()}`);
  // taskset execs node in place, so the child's pid is the node's.
  const pid = c.pid!;
  const hdr = new Hdr();
  let ok = 0;
  let failed = 0;
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        const res = await post('/v1/sessions', { username: 'bench_user', password });
        await res.arrayBuffer();
        if (res.status === 200) {
          ok++;
          hdr.record(performance.now() - s);
        } else failed++;
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  return { ok, failed, wall, cpu, hdr };
}

try {
  const r = await raw();
  console.info(
    `argon2id m=${memoryKib} KiB t=${timeCost} p=1: verify ${r.wallMs.toFixed(1)} ms wall, ${r.cpuMs.toFixed(1)} ms CPU ` +
      `(${(1000 / r.cpuMs).toFixed(1)} per CPU-second)`,
  );
  const e = await endToEnd();
  console.info(
    `end to end, node pinned to cpu ${args.cpu}, ${concurrency} loops, ${e.wall.toFixed(1)} s: ${e.ok} logins (${e.failed} failed), ` +
      `${(e.ok / e.wall).toFixed(1)} logins/s, ${(e.ok / e.cpu).toFixed(1)} per server CPU-second (${e.cpu.toFixed(1)} CPU-s), ` +
      `latency p50 ${e.hdr.quantile(0.5).toFixed(0)} ms p99 ${e.hdr.quantile(0.99).toFixed(0)} ms`,
  );
} finally {
  if (child && child.exitCode === null) {
    const c = child;
    await new Promise((r) => {
      c.once('exit', r);
      c.kill('SIGTERM');
    });
  }
  const admin = new PgSql(args['database-url'], 'public', 1);
  await admin.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
  await admin.close();
  rmSync(dataDir, { recursive: true, force: true });
}
