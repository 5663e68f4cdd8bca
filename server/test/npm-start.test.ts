import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PgSql } from '../src/sql/index.js';
import { freePort } from './helpers/node-process.js';
import { RawClient } from './helpers/raw-client.js';
import { postgresUrl, uniqueName } from './services.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DELAY_MS = 2000;

/** Every process below `pid` (npm → sh? → node), from ps. */
function descendants(pid: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of rows)
      if (pp === p) {
        out.push(c);
        walk(c);
      }
  };
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function commandOf(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'stat=,args=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return `${pid} (gone)`;
  }
}

async function status(url: string): Promise<number | 'refused'> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 'refused';
  }
}

interface Started {
  npm: ChildProcess;
  url: string;
  output: string[];
  /** Processes npm started, recorded once the node was ready. */
  below: number[];
  exit: Promise<number | null>;
}

const started: Started[] = [];
const namespaces: string[] = [];

/** `npm start`, exactly as an operator runs it, on its own port, namespace and data directory. */
async function npmStart(): Promise<Started> {
  const port = await freePort();
  const ns = uniqueName('npmstart').toLowerCase().slice(0, 32);
  namespaces.push(ns);
  const npm = spawn('npm', ['start'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: postgresUrl,
      NAMESPACE: ns,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'shutter-npm-start-')),
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: String(DELAY_MS),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  npm.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  npm.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const exit = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const s: Started = { npm, url, output, below: [], exit };
  started.push(s);
  const end = Date.now() + 60_000;
  while ((await status(`${url}/readyz`)) !== 200) {
    if (npm.exitCode !== null) throw new Error(`npm start exited early: ${output.join('')}`);
    if (Date.now() > end) throw new Error(`npm start did not become ready: ${output.join('')}`);
    await sleep(100);
  }
  s.below = descendants(npm.pid!);
  return s;
}

afterAll(async () => {
  // Whatever a failed run left behind (before the fix: the orphaned node).
  for (const s of started)
    for (const pid of [s.npm.pid!, ...s.below]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  const admin = new PgSql(postgresUrl, 'public', 1);
  for (const ns of namespaces) await admin.query(`DROP SCHEMA IF EXISTS ${ns} CASCADE`);
  await admin.close();
});

describe('npm start and signals', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} to the npm process drains the node: /readyz and new upgrades answer 503 for SHUTDOWN_DELAY_MS, sockets are sent away, everything exits`, async () => {
      const s = await npmStart();
      const token = (
        (await (
          await fetch(`${s.url}/v1/dev/token`, { method: 'POST', body: JSON.stringify({ user: 'op' }) })
        ).json()) as { token: string }
      ).token;
      const ws = s.url.replace('http', 'ws');
      const client = await RawClient.open(`${ws}/ws`, token, 'json');

      const t0 = Date.now();
      s.npm.kill(signal);
      // Poll readiness through the window.
      const seen: { ms: number; status: number | 'refused' }[] = [];
      let upgrade: unknown;
      while (Date.now() - t0 < DELAY_MS + 8000) {
        const st = await status(`${s.url}/readyz`);
        seen.push({ ms: Date.now() - t0, status: st });
        if (st === 503 && upgrade === undefined)
          upgrade = await RawClient.connect(`${ws}/ws`, 'json').then(
            (c) => {
              c.close();
              return 'accepted';
            },
            (err: { status?: number; headers?: Record<string, string> }) => ({
              status: err.status,
              retryAfter: err.headers?.['retry-after'],
            }),
          );
        if (st === 'refused') break;
        await sleep(100);
      }
      const readyz = seen.map((x) => x.status);
      expect(readyz, JSON.stringify(seen)).toContain(503);
      expect(readyz.at(-1), JSON.stringify(seen)).toBe('refused');
      // 503 for about the delay: the first 503 early, the listener gone only after the delay.
      const first503 = seen.find((x) => x.status === 503)!.ms;
      const refusedAt = seen.at(-1)!.ms;
      expect(first503).toBeLessThan(1500);
      expect(refusedAt).toBeGreaterThanOrEqual(DELAY_MS - 200);
      expect(upgrade).toEqual({ status: 503, retryAfter: '1' });
      // The open socket was served through the window, then told to go away.
      const closed = await client.waitClosed(10_000);
      expect(closed.code).toBe(4001);
      // npm and everything it started exit.
      expect(await s.exit).toBe(0);
      // (tsx's esbuild service, if any, follows its parent within moments)
      for (let i = 0; i < 30 && s.below.some(alive); i++) await sleep(100);
      expect(s.below.filter(alive).map(commandOf)).toEqual([]);
      expect(await status(`${s.url}/healthz`)).toBe('refused');
      const log = s.output.join('');
      expect(log).toContain(`"signal":"${signal}"`);
      expect(log).toContain('node stopped');
    });
  }
});
