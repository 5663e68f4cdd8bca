import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { HsMinter } from '../src/auth/tokens.js';
import { PgSql } from '../src/sql/index.js';
import { freePort } from './helpers/node-process.js';
import { RawClient } from './helpers/raw-client.js';
import { startS3rver } from './s3rver.js';
import { deleteNamespaceStreams, natsUrl, postgresUrl, redisUrl, uniqueName } from './services.js';

// This machine cannot run Docker, so this test runs the Dockerfile's own
// commands as `docker build` would, each stage in a directory of its own
// (its WORKDIR /app), on a build context made like Docker makes it (the
// files a clone has, minus .dockerignore); then it starts the final stage's
// CMD with the image's ENV and checks /healthz, /readyz, the HEALTHCHECK
// command and a SIGTERM drain. Differences from a real build, stated: the
// base image's Node is this machine's (the test checks the major version
// matches), `USER` and `--chown` are recorded, not applied, and npm is told to
// prefer its local cache (npm_config_prefer_offline) so the test needs no
// network when the cache has every package.

const root = fileURLToPath(new URL('../..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'shutter-docker-'));
const namespace = uniqueName('img').toLowerCase().slice(0, 32);
const clusterNs = uniqueName('cmp').toLowerCase().slice(0, 32);
let child: ChildProcess | undefined;
/** The final stage, once the first test built it. */
let built: Stage | undefined;
const nodes: ChildProcess[] = [];

afterAll(async () => {
  for (const c of [child, ...nodes]) if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  const admin = new PgSql(postgresUrl, 'public', 1);
  await admin.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
  await admin.query(`DROP SCHEMA IF EXISTS ${clusterNs} CASCADE`);
  await admin.close();
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${clusterNs}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
  await deleteNamespaceStreams(clusterNs);
});

interface Instruction {
  op: string;
  args: string;
}

/** Instructions of a Dockerfile: comments dropped, `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    const m = /^(\w+)\s+(.*)$/s.exec(full);
    if (!m) throw new Error(`cannot parse Dockerfile line: ${full}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]! });
  }
  return out;
}

/** `.dockerignore` patterns as path tests (`**`, `*`; a match excludes everything below it). */
function ignoreMatcher(text: string): (path: string) => boolean {
  const res = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((p) => {
      if (p.startsWith('!')) throw new Error('negated .dockerignore patterns are not supported here');
      const body = p
        .replace(/^\/+/, '')
        .split('**/')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
        .join('(?:.*/)?');
      return new RegExp(`^${body}(?:/.*)?$`);
    });
  return (path) => res.some((r) => r.test(path));
}

/** Options (`--from=x`) and the rest of an instruction's arguments. */
function splitOptions(args: string): { options: Record<string, string>; rest: string[] } {
  const words = args.split(/\s+/).filter(Boolean);
  const options: Record<string, string> = {};
  while (words[0]?.startsWith('--')) {
    const [k, v = ''] = words.shift()!.slice(2).split('=');
    options[k!] = v;
  }
  return { options, rest: words };
}

interface Stage {
  name: string;
  image: string;
  dir: string;
  env: Record<string, string>;
  user: string;
  cmd: string[] | undefined;
  healthcheck: string[] | undefined;
  stopSignal: string | undefined;
}

/** `/app/x` (the WORKDIR every stage uses) → the stage's directory. */
function inStage(stage: Stage, path: string): string {
  if (path === '/app' || path.startsWith('/app/')) return join(stage.dir, path.slice(4));
  if (path.startsWith('/')) throw new Error(`only paths under /app are supported here, not ${path}`);
  return join(stage.dir, path);
}

function copy(from: string, to: string, intoDir: boolean): void {
  if (!existsSync(from)) throw new Error(`COPY: ${from} does not exist`);
  const isDir = spawnSync('test', ['-d', from]).status === 0;
  if (isDir) {
    mkdirSync(to, { recursive: true });
    execFileSync('cp', ['-a', `${from}/.`, `${to}/`]);
  } else {
    const dest = intoDir ? join(to, from.split('/').pop()!) : to;
    mkdirSync(dirname(dest), { recursive: true });
    execFileSync('cp', ['-a', from, dest]);
  }
}

/** Runs the Dockerfile's instructions; returns the final stage. */
function build(dockerfile: string, context: string): Stage {
  const stages: Stage[] = [];
  const args: Record<string, string> = {};
  const expand = (s: string, env: Record<string, string>) =>
    s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => {
      const k = (a ?? b)!;
      return env[k] ?? args[k] ?? '';
    });
  for (const { op, args: raw } of parseDockerfile(dockerfile)) {
    const stage = stages.at(-1);
    const text = stage ? expand(raw, stage.env) : expand(raw, {});
    if (op === 'ARG') {
      const [k, v = ''] = text.split('=');
      args[k!] = v;
    } else if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(text)!;
      const name = m[2] ?? `stage${stages.length}`;
      const dir = join(work, name);
      mkdirSync(dir, { recursive: true });
      stages.push({
        name,
        image: m[1]!,
        dir,
        env: {},
        user: 'root',
        cmd: undefined,
        healthcheck: undefined,
        stopSignal: undefined,
      });
    } else if (!stage) throw new Error(`${op} before FROM`);
    else if (op === 'WORKDIR') {
      if (text !== '/app') throw new Error(`every stage works in /app here, not ${text}`);
    } else if (op === 'ENV') {
      for (const m of text.matchAll(/(\w+)=("[^"]*"|\S+)/g)) stage.env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
    } else if (op === 'COPY') {
      const { options, rest } = splitOptions(text);
      const dest = rest.pop()!;
      const source = options.from ? stages.find((s) => s.name === options.from) : undefined;
      if (options.from && !source) throw new Error(`COPY --from=${options.from}: no such stage`);
      const intoDir = dest.endsWith('/') || rest.length > 1;
      for (const src of rest) {
        const from = source ? inStage(source, src) : join(context, src);
        copy(from, inStage(stage, dest), intoDir);
      }
    } else if (op === 'RUN') {
      const r = spawnSync('sh', ['-c', text], {
        cwd: stage.dir,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/root',
          npm_config_prefer_offline: 'true',
          ...stage.env,
        },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      if (r.status !== 0)
        throw new Error(
          `RUN ${text} failed (${r.status}):\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`,
        );
    } else if (op === 'USER') stage.user = text;
    else if (op === 'CMD') stage.cmd = JSON.parse(text) as string[];
    else if (op === 'HEALTHCHECK') {
      const m = /\bCMD\s+(\[.*\])\s*$/s.exec(text);
      if (!m) throw new Error('HEALTHCHECK must use CMD in exec (JSON) form');
      stage.healthcheck = JSON.parse(m[1]!) as string[];
    } else if (op === 'STOPSIGNAL') stage.stopSignal = text;
    else if (op !== 'EXPOSE' && op !== 'LABEL') throw new Error(`unsupported instruction ${op}`);
  }
  return stages.at(-1)!;
}

/** The build context: files a clone of the working tree has, minus .dockerignore. */
function makeContext(): string {
  const context = join(work, 'context');
  mkdirSync(context);
  const ignored = ignoreMatcher(readFileSync(join(root, '.dockerignore'), 'utf8'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
    .split('\0')
    .filter((f) => f && !ignored(f) && existsSync(join(root, f)));
  execFileSync('sh', ['-c', `tar -C "${root}" --null -T - -cf - | tar -C "${context}" -xf -`], {
    input: files.join('\0'),
  });
  return context;
}

async function get(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

describe('the Dockerfile, run on this machine', () => {
  it('.dockerignore keeps installed and built files out of the context', () => {
    const ignored = ignoreMatcher(readFileSync(join(root, '.dockerignore'), 'utf8'));
    expect(ignored('node_modules/ws/index.js')).toBe(true);
    expect(ignored('server/node_modules/x')).toBe(true);
    expect(ignored('protocol/dist/index.js')).toBe(true);
    expect(ignored('server/src/main.ts')).toBe(false);
    expect(ignored('package-lock.json')).toBe(false);
  });

  it('builds compiled JavaScript and the image CMD serves /healthz as a non-root production node, then drains on SIGTERM', async () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const image = /^FROM node:(\d+)[.\d]*-/m.exec(
      dockerfile.replace(/\$\{NODE_VERSION\}/g, /ARG NODE_VERSION=(\S+)/.exec(dockerfile)?.[1] ?? ''),
    );
    expect(image?.[1], 'the base image is node:<version>').toBe(process.versions.node.split('.')[0]);

    const final = build(dockerfile, makeContext());
    built = final;

    // What the image holds: compiled entry, no TypeScript sources, no TypeScript loader.
    expect(final.user).toBe('node');
    expect(final.env.NODE_ENV).toBe('production');
    expect(final.cmd).toEqual(['node', 'server/dist/main.js']);
    expect(final.stopSignal).toBe('SIGTERM');
    expect(existsSync(join(final.dir, 'server/dist/main.js'))).toBe(true);
    const shipped = readdirSync(final.dir, { recursive: true, encoding: 'utf8' }).filter(
      (f) => !f.startsWith('node_modules'),
    );
    expect(shipped.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    for (const dev of ['tsx', 'typescript', 'vitest', '@biomejs/biome'])
      expect(existsSync(join(final.dir, 'node_modules', dev)), `${dev} is a dev dependency`).toBe(false);

    // The native parts load from the pruned node_modules: sharp (libvips) and uWebSockets.js.
    const natives = spawnSync(
      'node',
      [
        '-e',
        "const s=require('sharp');require('@trufflesuite/uws-js-unofficial');console.log(s.versions.vips)",
      ],
      { cwd: final.dir, encoding: 'utf8' },
    );
    expect(natives.status, natives.stderr).toBe(0);
    expect(natives.stdout).toMatch(/^\d+\.\d+/);

    // `docker run -e …` on the image: its ENV, plus what a deployment must set.
    const port = await freePort();
    const [cmd, ...cmdArgs] = final.cmd!;
    const env = {
      PATH: process.env.PATH ?? '',
      ...final.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: join(work, 'data'),
      AUTH_JWT_SECRET: 'dockerfile-test-secret-0123456789abcdef',
      DATABASE_URL: postgresUrl,
      NAMESPACE: namespace,
      LOG_LEVEL: 'info',
    };
    const output: string[] = [];
    child = spawn(cmd!, cmdArgs, { cwd: final.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));

    const base = `http://127.0.0.1:${port}`;
    const end = Date.now() + 30_000;
    while ((await get(`${base}/healthz`)) !== 200) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`no /healthz:\n${output.join('')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await get(`${base}/readyz`)).toBe(200);
    // Production defaults: no dev tokens, /metrics and the admin API off without their tokens.
    expect(await get(`${base}/metrics`)).toBe(404);
    const [hcCmd, ...hcArgs] = final.healthcheck!;
    const hc = spawnSync(hcCmd!, hcArgs, { cwd: final.dir, env, encoding: 'utf8' });
    expect(hc.status, `HEALTHCHECK: ${hc.stderr}`).toBe(0);
    // The node process itself, not a loader in front of it, is what the image runs.
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    expect(cmdline).toEqual(['node', 'server/dist/main.js']);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output.join('')).toMatch(/"msg":"node stopped"/);
  }, 600_000);

  it("starts compose.yaml's three nodes from the image with deploy/cluster.env: one cluster, one token for all", async () => {
    const final = built;
    if (!final) throw new Error('the image was not built (see the test above)');
    // compose.yaml's node service: the image, deploy/cluster.env, AUTH_JWT_SECRET, NODE_ID.
    const compose = readFileSync(join(root, 'compose.yaml'), 'utf8');
    expect(compose).toMatch(/^\s+env_file: deploy\/cluster\.env$/m);
    for (const n of ['node1', 'node2', 'node3']) expect(compose).toContain(`NODE_ID: ${n}`);
    const shared = Object.fromEntries(
      readFileSync(join(root, 'deploy/cluster.env'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    ) as Record<string, string>;
    expect(shared.CLUSTER).toBe('true');
    const s3 = await startS3rver(shared.S3_BUCKET);
    try {
      const secret = 'compose-test-secret-0123456789abcdef0123';
      const started = await Promise.all(
        ['node1', 'node2', 'node3'].map(async (id) => {
          const port = await freePort();
          const metricsPort = await freePort();
          const env = {
            PATH: process.env.PATH ?? '',
            ...final.env,
            ...shared,
            // The compose network's host names, pointed at this machine's services.
            NATS_URL: natsUrl,
            DATABASE_URL: postgresUrl,
            REDIS_URL: redisUrl,
            S3_ENDPOINT: s3.endpoint,
            S3_ACCESS_KEY_ID: 'S3RVER',
            S3_SECRET_ACCESS_KEY: 'S3RVER',
            // One machine instead of three containers: ports and names of their own.
            METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
            PORT: String(port),
            HOST: '127.0.0.1',
            NAMESPACE: clusterNs,
            DATA_DIR: join(work, `data-${id}`),
            NODE_ID: id,
            // One of them on the native engine, which asserts at start that its addon loaded.
            ...(id === 'node3' ? { TRANSPORT: 'uws' } : {}),
            AUTH_JWT_SECRET: secret,
            CLUSTER_HEARTBEAT_MS: '200',
            CLUSTER_LEASE_MS: '1500',
          };
          const [cmd, ...cmdArgs] = final.cmd!;
          const c = spawn(cmd!, cmdArgs, { cwd: final.dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
          nodes.push(c);
          const err: string[] = [];
          c.stderr?.on('data', (d: Buffer) => err.push(d.toString()));
          const end = Date.now() + 60_000;
          while ((await get(`http://127.0.0.1:${port}/readyz`)) !== 200) {
            if (Date.now() > end || c.exitCode !== null) throw new Error(`${id} not ready: ${err.join('')}`);
            await new Promise((r) => setTimeout(r, 100));
          }
          return { id, port, metricsPort };
        }),
      );
      const members = async (metricsPort: number) => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const line = text.split('\n').find((l) => l.startsWith('shutter_cluster_members'));
        return Number(line?.slice(line.lastIndexOf(' ') + 1));
      };
      const end = Date.now() + 30_000;
      while ((await Promise.all(started.map((n) => members(n.metricsPort)))).some((m) => m !== 3)) {
        if (Date.now() > end) throw new Error('the three nodes did not see each other');
        await new Promise((r) => setTimeout(r, 200));
      }
      // Production: no /metrics on the public port; one token, signed with the shared secret, on every node.
      expect(await get(`http://127.0.0.1:${started[0]!.port}/metrics`)).toBe(404);
      const token = (await new HsMinter(new TextEncoder().encode(secret)).mint('carol', 600)).token;
      for (const n of started) {
        const c = await RawClient.open(`ws://127.0.0.1:${n.port}/ws`, token);
        expect(c.messages.find((m) => m.t === 'welcome')).toBeDefined();
        c.ws.close();
      }
      for (const c of nodes) c.kill('SIGTERM');
      const codes = await Promise.all(
        nodes.map((c) =>
          c.exitCode !== null
            ? c.exitCode
            : new Promise<number | null>((r) => c.once('exit', (code) => r(code))),
        ),
      );
      expect(codes).toEqual([0, 0, 0]);
    } finally {
      await s3.close();
    }
  }, 180_000);
});
