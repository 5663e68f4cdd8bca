import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { rssBytes } from '../fanout/proc.js';
import type { RunnerTarget } from './scenario.js';

const READY_TIMEOUT_MS = 120_000;
const GC_HOOK = new URL('../fanout/gc-on-signal.ts', import.meta.url).href;

export interface NodeOptions {
  repoRoot: string;
  transport: 'ws' | 'uws';
  /** Scenario settings (MAX_CONNECTIONS, ...). */
  env: Record<string, string>;
  databaseUrl: string;
  redisUrl: string;
  natsUrl: string;
  /** 1: one node; more: a local cluster on NATS. */
  nodes?: number;
  log: (line: string) => void;
}

export interface OwnedTarget extends RunnerTarget {
  /** Stops the node and removes what it left in PostgreSQL and Redis. */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  if (typeof addr !== 'object' || !addr) throw new Error('no free port');
  return addr.port;
}

async function publishVia(httpUrl: string, adminToken: string, stream: string, data: unknown): Promise<void> {
  const res = await fetch(`${httpUrl}/v1/admin/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ stream, data }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`publish answered ${res.status}: ${body.slice(0, 200)}`);
}

/** A Shutter someone else runs (--url): no restarts, no RSS. */
export function externalTarget(o: { url: string; secret: string; adminToken: string }): RunnerTarget {
  const u = new URL(o.url);
  const httpUrl = `${u.protocol === 'wss:' ? 'https' : 'http'}://${u.host}`;
  return {
    wsUrl: o.url,
    wsUrls: [o.url],
    nodes: 1,
    database: undefined,
    httpUrl,
    secret: o.secret,
    adminToken: o.adminToken,
    transport: 'unknown',
    pid: undefined,
    publish: (stream, data) => publishVia(httpUrl, o.adminToken, stream, data),
    settledRss: async () => undefined,
    restart: async () => {
      throw new Error('this scenario restarts the node: run it without --url');
    },
    restartNode: async () => {
      throw new Error('this scenario restarts nodes: run it without --url');
    },
    ownerOf: async () => undefined,
  };
}

/** One node process of the runner's Shutter: spawn, wait for /readyz, kill, read RSS. */
class NodeProc {
  child: ChildProcess | undefined;
  constructor(
    readonly httpUrl: string,
    private readonly repoRoot: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly memoryFile: string,
    private readonly log: (line: string) => void,
  ) {}

  async spawn(): Promise<void> {
    const c = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        '--expose-gc',
        '--import',
        GC_HOOK,
        // LOAD_NODE_PROFILE_DIR=<dir>: a V8 CPU profile of each node the runner starts, written when it exits.
        ...(process.env.LOAD_NODE_PROFILE_DIR
          ? ['--cpu-prof', `--cpu-prof-dir=${process.env.LOAD_NODE_PROFILE_DIR}`]
          : []),
        'server/src/main.ts',
      ],
      { cwd: this.repoRoot, env: this.env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    c.stderr?.on('data', (d: Buffer) => {
      for (const line of d.toString('utf8').split('\n'))
        if (line.trim()) this.log(`[node ${this.env.NODE_ID}] ${line}`);
    });
    this.child = c;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (c.exitCode !== null || c.signalCode !== null)
        throw new Error(
          `node ${this.env.NODE_ID} exited (${c.exitCode ?? c.signalCode}) before it was ready`,
        );
      try {
        if ((await fetch(`${this.httpUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    c.kill('SIGKILL');
    throw new Error(`node ${this.env.NODE_ID} was not ready within ${READY_TIMEOUT_MS / 1000} s`);
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  }

  /** Full GCs, then the young generation's size and the JS heap in use (from the hook) and RSS. */
  async gcReading(): Promise<{ rss: number; newSpace: number; heapUsed: number } | undefined> {
    const pid = this.child?.pid;
    if (pid === undefined) return undefined;
    this.child?.kill('SIGUSR2');
    await sleep(1000);
    const lines = existsSync(this.memoryFile) ? readFileSync(this.memoryFile, 'utf8').trim().split('\n') : [];
    const last = lines.at(-1);
    const m = last ? (JSON.parse(last) as { newSpace?: number; heapUsed?: number }) : {};
    return { rss: rssBytes(pid), newSpace: Number(m.newSpace ?? 0), heapUsed: Number(m.heapUsed ?? 0) };
  }
}

/**
 * Shutter started by the runner: one node (server/src/main.ts on loopback),
 * or with `nodes` > 1 a local cluster (CLUSTER=true on the local NATS), on
 * PostgreSQL and Redis under a namespace of its own, which `stop()` drops
 * (schema, Redis keys, and the cluster's JetStream streams and buckets).
 * Preloaded with the GC hook, so RSS can be read after full collections.
 */
export async function startNode(o: NodeOptions): Promise<OwnedTarget> {
  const count = o.nodes ?? 1;
  const secret = randomBytes(24).toString('hex');
  const adminToken = randomBytes(24).toString('hex');
  const namespace = `load_${randomBytes(4).toString('hex')}`;
  const memDir = mkdtempSync(join(tmpdir(), 'shutter-load-'));
  const procs: NodeProc[] = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const memoryFile = join(memDir, `memory-${i}.jsonl`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      NODE_ID: `n${i + 1}`,
      TRANSPORT: o.transport,
      AUTH_JWT_SECRET: secret,
      ADMIN_TOKEN: adminToken,
      LOG_LEVEL: 'warn',
      HTTP_ACCESS_LOG: 'off',
      DATABASE_URL: o.databaseUrl,
      REDIS_URL: o.redisUrl,
      NAMESPACE: namespace,
      // Local media (uploads, variants) in the run's own directory, removed with it; shared by a
      // local cluster's nodes, as one object store would be.
      DATA_DIR: join(memDir, 'data'),
      STREAM_HISTORY_TTL_SECONDS: '600',
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_GRACE_MS: '1000',
      BENCH_MEMORY_FILE: memoryFile,
      ...(count > 1 ? { CLUSTER: 'true', NATS_URL: o.natsUrl } : {}),
      ...o.env,
    };
    procs.push(new NodeProc(`http://127.0.0.1:${port}`, o.repoRoot, env, memoryFile, o.log));
  }
  try {
    // One after the other: the first creates the schema and the shard map.
    for (const p of procs) await p.spawn();
  } catch (e) {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    rmSync(memDir, { recursive: true, force: true });
    await cleanup(o, namespace, count > 1).catch(() => undefined);
    throw e;
  }
  const first = procs[0]!;
  const wsUrls = procs.map((p) => `${p.httpUrl.replace('http:', 'ws:')}/ws`);

  return {
    wsUrl: wsUrls[0]!,
    wsUrls,
    httpUrl: first.httpUrl,
    secret,
    adminToken,
    transport: o.transport,
    nodes: count,
    database: { url: o.databaseUrl, namespace },
    get pid() {
      return first.child?.pid;
    },
    // Through the last node (in a cluster it stays up while `restart` takes the first one down);
    // when that one is down too (a rolling restart), through the next one that answers.
    publish: async (stream, data) => {
      let last: unknown;
      for (const p of [...procs].reverse()) {
        try {
          return await publishVia(p.httpUrl, adminToken, stream, data);
        } catch (e) {
          last = e;
        }
      }
      throw last;
    },
    settledRss: async (maxMs, stableMs = 0) => {
      // Summed over the nodes. Settled: each node's young generation back under 2 MB on two
      // readings in a row (pages the reducer gave back leave RSS a moment later), and the sum
      // within 1 MB over the last `stableMs` (other isolates, such as tsx's module-loader
      // thread, give their memory back on their own schedule).
      const end = Date.now() + maxMs;
      const small = procs.map(() => 0);
      const history: { at: number; rss: number }[] = [];
      const startedAt = Date.now();
      for (;;) {
        const readings = await Promise.all(procs.map((p) => p.gcReading()));
        if (readings.some((r) => r === undefined)) return undefined;
        let rss = 0;
        let newSpace = 0;
        let heapUsed = 0;
        readings.forEach((r, i) => {
          rss += r!.rss;
          newSpace += r!.newSpace;
          heapUsed += r!.heapUsed;
          small[i] = r!.newSpace <= 2 * 1024 * 1024 ? small[i]! + 1 : 0;
        });
        const now = Date.now();
        history.push({ at: now, rss });
        const window = history.filter((h) => h.at >= now - stableMs);
        const stable =
          now - startedAt >= stableMs &&
          Math.max(...window.map((h) => h.rss)) - Math.min(...window.map((h) => h.rss)) <= 1024 * 1024;
        if (small.every((n) => n >= 2) && stable) return { rss, newSpace, heapUsed, settled: true };
        if (now > end) return { rss, newSpace, heapUsed, settled: false };
      }
    },
    restart: async (signal, onDown) => {
      await first.kill(signal);
      onDown?.();
      await first.spawn();
    },
    restartNode: async (index, signal, onDown) => {
      const p = procs[index];
      if (!p) throw new Error(`no node ${index} (the cluster has ${procs.length})`);
      await p.kill(signal);
      onDown?.();
      await p.spawn();
    },
    ownerOf: async (shard) => (count > 1 ? shardOwner(o.natsUrl, namespace, shard) : undefined),
    stop: async () => {
      await Promise.all(procs.map((p) => p.kill('SIGTERM')));
      rmSync(memDir, { recursive: true, force: true });
      await cleanup(o, namespace, count > 1).catch((e: unknown) =>
        o.log(`cleanup of namespace ${namespace} failed: ${e instanceof Error ? e.message : String(e)}`),
      );
    },
  };
}

/**
 * The node (0-based) that owns `shard` in the shard map of a local cluster:
 * its record's owner is `n<k>-<suffix>` (NODE_ID n1, n2… as started above).
 */
async function shardOwner(natsUrl: string, namespace: string, shard: number): Promise<number | undefined> {
  const { connect } = await import('@nats-io/transport-node');
  const { Kvm } = await import('@nats-io/kv');
  const nc = await connect({ servers: natsUrl });
  try {
    const kv = await new Kvm(nc).open(`${namespace}_shards`);
    const entry = await kv.get(`shard.${shard}`);
    const owner = entry?.value.length ? (entry.json<{ owner?: string }>().owner ?? '') : '';
    const m = /^n(\d+)-/.exec(owner);
    return m ? Number(m[1]) - 1 : undefined;
  } finally {
    await nc.close();
  }
}

/** Drops what a run left: the schema, the Redis keys, and (cluster) the JetStream streams of the namespace. */
async function cleanup(o: NodeOptions, namespace: string, cluster: boolean): Promise<void> {
  // Imported here: only a runner that started a node needs them (they come with @shutter/server).
  const { default: pg } = await import('pg');
  const { Redis } = await import('ioredis');
  // A scenario that spreads the node over several databases (DATABASE_SHARDS) leaves the schema in each.
  const shardUrls = (o.env.DATABASE_SHARDS ?? '').split(',').map((r) => r.trim().replace(/^\d+-\d+=/, ''));
  for (const url of new Set([o.databaseUrl, ...shardUrls.filter((u) => u.startsWith('postgres'))])) {
    const db = new pg.Client({ connectionString: url });
    try {
      await db.connect();
      await db.query(`DROP SCHEMA IF EXISTS "${namespace}" CASCADE`);
    } finally {
      await db.end().catch(() => undefined);
    }
  }
  const redis = new Redis(o.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  if (!cluster) return;
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: o.natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    // Job queues are streams named <namespace>_<queue>; the shard map is the KV bucket <namespace>_shards.
    for await (const si of jsm.streams.list()) {
      const name = si.config.name;
      if (name.startsWith(`${namespace}_`) || name.startsWith(`KV_${namespace}_`))
        await jsm.streams.delete(name);
    }
  } finally {
    await nc.close();
  }
}
