import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PgSql } from '../src/sql/index.js';
import { freePort } from './helpers/node-process.js';
import { postgresUrl, uniqueName } from './services.js';

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
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
  const admin = new PgSql(postgresUrl, 'public', 1);
  await admin.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
  await admin.close();
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
});
