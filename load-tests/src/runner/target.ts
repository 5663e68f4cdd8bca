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
  };
}

/**
 * One Shutter node started by the runner (server/src/main.ts on loopback),
 * on PostgreSQL and Redis under a namespace of its own, which `stop()` drops.
 * Preloaded with the GC hook, so RSS can be read after full collections.
 */
export async function startNode(o: NodeOptions): Promise<OwnedTarget> {
  const port = await freePort();
  const secret = randomBytes(24).toString('hex');
  const adminToken = randomBytes(24).toString('hex');
  const namespace = `load_${randomBytes(4).toString('hex')}`;
  const httpUrl = `http://127.0.0.1:${port}`;
  const memDir = mkdtempSync(join(tmpdir(), 'shutter-load-'));
  const memoryFile = join(memDir, 'memory.jsonl');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    TRANSPORT: o.transport,
    AUTH_JWT_SECRET: secret,
    ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    HTTP_ACCESS_LOG: 'off',
    DATABASE_URL: o.databaseUrl,
    REDIS_URL: o.redisUrl,
    NAMESPACE: namespace,
    STREAM_HISTORY_TTL_SECONDS: '600',
    SHUTDOWN_DELAY_MS: '0',
    SHUTDOWN_GRACE_MS: '1000',
    BENCH_MEMORY_FILE: memoryFile,
    ...o.env,
  };
  let child: ChildProcess | undefined;
  const spawnNode = async () => {
    const c = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', '--expose-gc', '--import', GC_HOOK, 'server/src/main.ts'],
      { cwd: o.repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    c.stderr?.on('data', (d: Buffer) => {
      for (const line of d.toString('utf8').split('\n')) if (line.trim()) o.log(`[node] ${line}`);
    });
    child = c;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (c.exitCode !== null || c.signalCode !== null)
        throw new Error(`the node exited (${c.exitCode ?? c.signalCode}) before it was ready`);
      try {
        if ((await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).ok) return;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    c.kill('SIGKILL');
    throw new Error(`the node was not ready within ${READY_TIMEOUT_MS / 1000} s`);
  };
  const kill = async (signal: NodeJS.Signals) => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };
  await spawnNode();

  const cleanup = async () => {
    // Imported here: only a runner that started a node needs them (they come with @shutter/server).
    const { default: pg } = await import('pg');
    const { Redis } = await import('ioredis');
    const db = new pg.Client({ connectionString: o.databaseUrl });
    try {
      await db.connect();
      await db.query(`DROP SCHEMA IF EXISTS "${namespace}" CASCADE`);
    } finally {
      await db.end().catch(() => undefined);
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
  };

  return {
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    httpUrl,
    secret,
    adminToken,
    transport: o.transport,
    get pid() {
      return child?.pid;
    },
    publish: (stream, data) => publishVia(httpUrl, adminToken, stream, data),
    settledRss: async (maxMs) => {
      const end = Date.now() + maxMs;
      let small = 0;
      for (;;) {
        const pid = child?.pid;
        if (pid === undefined) return undefined;
        child?.kill('SIGUSR2');
        await sleep(1000);
        const lines = existsSync(memoryFile) ? readFileSync(memoryFile, 'utf8').trim().split('\n') : [];
        const last = lines.at(-1);
        const newSpace = last ? Number((JSON.parse(last) as { newSpace?: number }).newSpace ?? 0) : 0;
        // Pages the reducer gave back leave RSS a moment later: two small readings in a row.
        small = newSpace <= 2 * 1024 * 1024 ? small + 1 : 0;
        const rss = rssBytes(pid);
        if (small >= 2) return { rss, newSpace, settled: true };
        if (Date.now() > end) return { rss, newSpace, settled: false };
      }
    },
    restart: async (signal, onDown) => {
      await kill(signal);
      onDown?.();
      await spawnNode();
    },
    stop: async () => {
      await kill('SIGTERM');
      rmSync(memDir, { recursive: true, force: true });
      await cleanup().catch((e: unknown) =>
        o.log(`cleanup of namespace ${namespace} failed: ${e instanceof Error ? e.message : String(e)}`),
      );
    },
  };
}
