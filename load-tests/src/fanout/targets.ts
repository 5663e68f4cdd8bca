import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jsonCodec, msgpackCodec } from '@shutter/protocol';

export const TARGETS = [
  'raw-uws',
  'shutter-uws',
  'socketio-uws',
  'raw-ws',
  'shutter-ws',
  'socketio-ws',
] as const;
export type TargetName = (typeof TARGETS)[number];

/** How a client talks to a target: Shutter's protocol v1, bare WebSocket frames, or Socket.IO (Engine.IO v4). */
export type TargetMode = 'shutter' | 'raw' | 'socketio';

export function modeOf(name: TargetName): TargetMode {
  return name.startsWith('shutter') ? 'shutter' : name.startsWith('socketio') ? 'socketio' : 'raw';
}

export interface TargetOptions {
  repoRoot: string;
  codec: 'msgpack' | 'json';
  /** Pin the server to this CPU with taskset (undefined: no pinning). */
  serverCpu: number | undefined;
  /** Write a V8 CPU profile of the server into this directory. */
  profileDir: string | undefined;
}

/** One server under test, in its own process. */
export interface Target {
  readonly name: TargetName;
  readonly mode: TargetMode;
  readonly pid: number;
  readonly wsUrl: string;
  /** The HS256 secret the server verifies tokens with (Shutter only). */
  readonly secret: string;
  /** Forces two full GCs in the server (see gc-on-signal.ts), waits, returns its process.memoryUsage(). */
  collect(): Promise<NodeJS.MemoryUsage | undefined>;
  /**
   * Publishes `count` events (default 1) in one request, the k-th with data
   * `{ t0, i: i + k }`; resolves when the server answered. Shutter gets them
   * as one admin publish (`{events}` when more than one), a raw server as
   * their frames back to back (`x-frame-sizes`), published together;
   * Socket.IO as a JSON array of the same events, emitted to its room together.
   */
  publish(stream: string, i: number, count?: number): Promise<void>;
  stop(): Promise<void>;
}

const now = () => performance.timeOrigin + performance.now();

const READY_TIMEOUT_MS = 180_000;
const GC_HOOK = new URL('./gc-on-signal.ts', import.meta.url).href;

const bodyOf = (f: string | Uint8Array): string | ArrayBuffer =>
  typeof f === 'string' ? f : (f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) as ArrayBuffer);

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  if (typeof addr !== 'object' || !addr) throw new Error('no free port');
  return addr.port;
}

async function waitReady(url: string, child: ChildProcess, name: string): Promise<void> {
  // Generous: with the embedded store (PGlite) a fresh data directory takes seconds, more on a busy machine.
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`${name} was not ready within ${READY_TIMEOUT_MS / 1000} s`);
}

/** Removes the schema a Shutter target made (its namespace), so runs leave nothing behind. */
async function dropSchema(databaseUrl: string, namespace: string): Promise<void> {
  // Comes with @shutter/server; only Shutter targets need it.
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: databaseUrl });
  try {
    await db.connect();
    await db.query(`DROP SCHEMA IF EXISTS "${namespace}" CASCADE`);
  } catch (e) {
    process.stderr.write(
      `could not drop schema ${namespace}: ${e instanceof Error ? e.message : String(e)}\n`,
    );
  } finally {
    await db.end().catch(() => undefined);
  }
}

export async function startTarget(name: TargetName, o: TargetOptions): Promise<Target> {
  const port = await freePort();
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const namespace = `bench_${randomBytes(3).toString('hex')}`;
  const mode = modeOf(name);
  const shutter = mode === 'shutter';
  const secret = randomBytes(24).toString('hex');
  // A configured AUTH_JWT_SECRET turns the admin API's loopback fallback off: publish with a token.
  const adminToken = randomBytes(24).toString('hex');
  const nodeArgs = ['--conditions=source', '--import', 'tsx', '--expose-gc', '--import', GC_HOOK];
  if (o.profileDir)
    // One directory per target: the main thread and tsx's loader thread each write a profile.
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${join(o.profileDir, name)}`);
  nodeArgs.push(
    shutter
      ? 'server/src/main.ts'
      : mode === 'socketio'
        ? 'load-tests/src/raw-servers/socketio.ts'
        : `load-tests/src/raw-servers/${name}.ts`,
  );
  const memDir = mkdtempSync(join(tmpdir(), 'bench-mem-'));
  const memoryFile = join(memDir, 'memory.jsonl');
  // Removed by stop(): the memory readings and a Shutter target's data directory.
  const dirs = [memDir];
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), BENCH_MEMORY_FILE: memoryFile };
  if (mode === 'socketio') env.SIO_ENGINE = name === 'socketio-uws' ? 'uws' : 'ws';
  if (shutter) {
    const dataDir = mkdtempSync(join(tmpdir(), 'shutter-bench-'));
    dirs.push(dataDir);
    Object.assign(env, {
      HOST: '127.0.0.1',
      TRANSPORT: name === 'shutter-uws' ? 'uws' : 'ws',
      AUTH_JWT_SECRET: secret,
      ADMIN_TOKEN: adminToken,
      LOG_LEVEL: 'warn',
      // The benchmark's sockets send nothing after subscribing; keep them past the 60 s default.
      IDLE_TIMEOUT_MS: '600000',
      DATA_DIR: dataDir,
      // The relational store is off the fan-out path; Postgres keeps PGlite's
      // ~300–800 MB start-up heap out of the per-socket RSS figure.
      DATABASE_URL: databaseUrl,
      NAMESPACE: namespace,
    });
  }
  const [cmd, args] =
    o.serverCpu === undefined
      ? ['node', nodeArgs]
      : ['taskset', ['-c', String(o.serverCpu), 'node', ...nodeArgs]];
  // taskset execs node, so the child's pid is the server's pid.
  const child = spawn(cmd, args as string[], {
    cwd: o.repoRoot,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitReady(shutter ? `${base}/readyz` : `${base}/healthz`, child, name);
  const codec = o.codec === 'json' ? jsonCodec : msgpackCodec;
  // Shaped like Shutter's epochs (memory-stream-log newEpoch), so frames are the same size.
  const epoch = randomBytes(6).toString('base64url');

  const publish = async (stream: string, i: number, count = 1): Promise<void> => {
    const t0 = now();
    const datas = Array.from({ length: count }, (_, k) => ({ t0, i: i + k }));
    let res: Response;
    if (shutter) {
      const body =
        count === 1 ? { stream, data: datas[0] } : { events: datas.map((data) => ({ stream, data })) };
      res = await fetch(`${base}/v1/admin/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify(body),
      });
    } else if (mode === 'socketio') {
      // The envelope Shutter sends, as JSON: Socket.IO's frames are text (`42["ev",{…}]`).
      const events = datas.map((data) => ({ t: 'ev', stream, epoch, seq: data.i + 1, data, ts: Date.now() }));
      res = await fetch(`${base}/publish`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(events),
      });
    } else {
      // The same envelope Shutter sends, so both carry frames of the same size.
      const frames = datas.map((data) =>
        Buffer.from(codec.encode({ t: 'ev', stream, epoch, seq: data.i + 1, data, ts: Date.now() })),
      );
      res = await fetch(`${base}/publish`, {
        method: 'POST',
        headers: { 'x-frame-sizes': frames.map((f) => f.length).join(',') },
        body: bodyOf(Buffer.concat(frames)),
      });
    }
    if (!res.ok) throw new Error(`${name} publish answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };

  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    }
    if (shutter) await dropSchema(databaseUrl, namespace);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };

  const collect = async (): Promise<NodeJS.MemoryUsage | undefined> => {
    child.kill('SIGUSR2');
    await sleep(1000);
    const lines = existsSync(memoryFile) ? readFileSync(memoryFile, 'utf8').trim().split('\n') : [];
    const last = lines.at(-1);
    return last ? (JSON.parse(last) as NodeJS.MemoryUsage) : undefined;
  };

  return {
    name,
    collect,
    mode,
    pid: child.pid!,
    // Socket.IO: straight to the WebSocket transport, Engine.IO v4 (no long-polling first).
    wsUrl:
      mode === 'socketio'
        ? `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`
        : `ws://127.0.0.1:${port}/ws`,
    secret,
    publish,
    stop,
  };
}
