import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ClientGroup } from './fanout/clients.js';
import type { ClientReply } from './fanout/ipc.js';
import { postsPhase, throughputPhase } from './fanout/phases.js';
import { cpuSeconds, machine, rssBytes } from './fanout/proc.js';
import { printSummary, thresholds } from './fanout/report.js';
import { startTarget, TARGETS, type Target, type TargetName } from './fanout/targets.js';

/**
 * WebSocket fan-out benchmark: N sockets on one topic, Shutter (ws and uWS
 * engines) beside a raw ws and a raw uWebSockets.js broadcast server, each
 * in its own process pinned to CPU 0 while this process and its client
 * processes run on CPU 1. Per target: RSS per idle (authenticated) socket,
 * post → every follower latency, and deliveries per server-CPU-second.
 * Stages, checks and thresholds as in k6; raw results go to load-tests/results/.
 */
const { values: opt } = parseArgs({
  options: {
    sockets: { type: 'string', default: '5000,10000' },
    targets: { type: 'string', default: TARGETS.join(',') },
    events: { type: 'string', default: '400' },
    rate: { type: 'string', default: '40' },
    'max-seconds': { type: 'string', default: '12' },
    posts: { type: 'string', default: '20' },
    'post-interval-ms': { type: 'string', default: '300' },
    'sockets-per-client': { type: 'string', default: '5000' },
    codec: { type: 'string', default: 'msgpack' },
    'server-cpu': { type: 'string', default: '0' },
    profile: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const STREAM = 'topic:bench';
const WARMUP_SOCKETS = 50;
const codec = opt.codec === 'json' ? 'json' : 'msgpack';
const num = (s: string | undefined, name: string) => {
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};
const o = {
  sockets: (opt.sockets ?? '').split(',').map((s) => num(s, 'sockets')),
  targets: (opt.targets ?? '').split(',') as TargetName[],
  events: num(opt.events, 'events'),
  rate: num(opt.rate, 'rate'),
  maxSeconds: num(opt['max-seconds'], 'max-seconds'),
  posts: num(opt.posts, 'posts'),
  postIntervalMs: num(opt['post-interval-ms'], 'post-interval-ms'),
  socketsPerClient: Math.min(18_000, num(opt['sockets-per-client'], 'sockets-per-client')),
  codec,
  serverCpu: opt['server-cpu'] === 'none' ? undefined : Number(opt['server-cpu']),
};
for (const t of o.targets)
  if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}; use ${TARGETS.join(',')}`);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = join(repoRoot, 'load-tests/results');
const profileDir = opt.profile ? join(resultsDir, `profiles-${stamp}`) : undefined;

type Connected = Extract<ClientReply, { ev: 'connected' | 'subscribed' }>;
const checks: { name: string; ok: boolean; detail: string }[] = [];
function check(name: string, ok: boolean, detail: string): void {
  checks.push({ name, ok, detail });
  process.stderr.write(`  ${ok ? '✓' : '✗'} ${name}: ${detail}\n`);
}
const sum = (rs: Connected[]) => ({
  ok: rs.reduce((a, r) => a + r.ok, 0),
  failed: rs.reduce((a, r) => a + r.failed, 0),
  firstError: rs.find((r) => r.firstError)?.firstError,
});

async function connect(t: Target, clients: ClientGroup, total: number, addressBase: number) {
  const share = Math.ceil(total / clients.size);
  return sum(
    await clients.all<Connected>((i) => {
      const count = Math.min(share, total - i * share);
      if (count <= 0) return undefined;
      return {
        cmd: 'connect',
        url: t.wsUrl,
        count,
        mode: t.mode,
        codec,
        // A source address per client process: ephemeral ports per address are ~28 000.
        localAddress: `127.0.0.${addressBase + i}`,
        secret: t.secret,
        userPrefix: `bench${i}-`,
        concurrency: 200,
      };
    }),
  );
}

async function runTarget(name: TargetName, sockets: number) {
  process.stderr.write(`\n▶ ${name}, ${sockets} sockets\n`);
  const t = await startTarget(name, { repoRoot, codec, serverCpu: o.serverCpu, profileDir });
  const clients = new ClientGroup(Math.ceil(sockets / o.socketsPerClient));
  try {
    // Stage 0: warm-up (JIT, lazy modules, first buffers) on sockets that are then closed.
    const warm = new ClientGroup(1);
    await connect(t, warm, WARMUP_SOCKETS, 2);
    if (t.mode === 'shutter') await warm.all(() => ({ cmd: 'subscribe', stream: STREAM, concurrency: 50 }));
    for (let i = 0; i < 5; i++) await t.publish(STREAM, i);
    await sleep(200);
    await warm.close();
    await sleep(2000);
    const rssBaseNoGc = rssBytes(t.pid);
    const memBase = await t.collect();
    const rssBase = rssBytes(t.pid);

    // Stage 1: ramp up to N idle (authenticated) sockets.
    const rampStart = performance.now();
    const c = await connect(t, clients, sockets, 10);
    const rampSeconds = (performance.now() - rampStart) / 1000;
    check(
      `${name}: ${t.mode === 'shutter' ? 'hello → welcome' : 'connected'}`,
      c.ok === sockets,
      `${c.ok}/${sockets} in ${rampSeconds.toFixed(1)} s${c.firstError ? ` (first error: ${c.firstError})` : ''}`,
    );
    await sleep(2000);
    const cpuIdle0 = cpuSeconds(t.pid);
    await sleep(3000);
    const idleCpuPerSecond = (cpuSeconds(t.pid) - cpuIdle0) / 3;
    const rssIdleNoGc = rssBytes(t.pid);
    const memIdle = await t.collect();
    const rssIdle = rssBytes(t.pid);

    // Stage 2: subscribe (raw servers joined their one topic on open).
    let rssSubscribed = rssIdle;
    if (t.mode === 'shutter') {
      const s = sum(
        await clients.all<Connected>(() => ({ cmd: 'subscribe', stream: STREAM, concurrency: 200 })),
      );
      check(
        `${name}: sub → res`,
        s.ok === c.ok,
        `${s.ok}/${c.ok}${s.firstError ? ` (first error: ${s.firstError})` : ''}`,
      );
      await sleep(1000);
      await t.collect();
      rssSubscribed = rssBytes(t.pid);
    }

    // Stage 3: single posts, then stage 4: a sustained stream of events.
    const posts = await postsPhase(t, clients, c.ok, STREAM, o.posts, o.postIntervalMs);
    check(
      `${name}: every post delivered once, in order`,
      posts.received === posts.expected && posts.gaps === 0,
      `${posts.received}/${posts.expected}, gaps ${posts.gaps}`,
    );
    const load = await throughputPhase(t, clients, c.ok, STREAM, o.events, o.rate, o.maxSeconds);
    check(
      `${name}: every event delivered once, in order`,
      load.received === load.expected && load.gaps === 0,
      `${load.received}/${load.expected}, gaps ${load.gaps}, closed by server ${load.closedByServer}`,
    );
    return {
      target: name,
      sockets: c.ok,
      rampSeconds,
      rss: {
        baseBytes: rssBase,
        idleBytes: rssIdle,
        subscribedBytes: rssSubscribed,
        baseNoGcBytes: rssBaseNoGc,
        idleNoGcBytes: rssIdleNoGc,
        perIdleSocketBytes: (rssIdle - rssBase) / c.ok,
        perIdleSocketNoGcBytes: (rssIdleNoGc - rssBaseNoGc) / c.ok,
        // From process.memoryUsage() in the server after the same GCs: JS heap vs the rest.
        perIdleSocketHeapUsedBytes: memBase && memIdle ? (memIdle.heapUsed - memBase.heapUsed) / c.ok : null,
        perIdleSocketHeapTotalBytes:
          memBase && memIdle ? (memIdle.heapTotal - memBase.heapTotal) / c.ok : null,
        memoryBase: memBase ?? null,
        memoryIdle: memIdle ?? null,
        perSubscribedSocketBytes: (rssSubscribed - rssBase) / c.ok,
      },
      idleServerCpuPerSecond: idleCpuPerSecond,
      posts,
      load,
    };
  } finally {
    await clients.close();
    await t.stop();
  }
}

async function main(): Promise<void> {
  const info = machine();
  const loadStart = loadavg()[0];
  const command = `npm run bench:fanout -w @shutter/load-tests -- ${process.argv.slice(2).join(' ')}`.trim();
  process.stderr.write(
    `fan-out benchmark on ${info.cores} × ${info.cpu}, Node ${info.node}, Linux ${info.kernel}\n`,
  );
  const scenarios = [];
  for (const sockets of o.sockets) {
    const results = [];
    for (const name of o.targets) results.push(await runTarget(name, sockets));
    scenarios.push({ sockets, results });
  }
  const th = thresholds(scenarios);
  const out = {
    benchmark: 'websocket-fanout',
    startedAt: stamp,
    command,
    machine: info,
    // Other work on the machine during the run (1-minute load average, 2 cores).
    loadAverage: { start: loadStart, end: loadavg()[0] },
    options: o,
    pinning: { server: o.serverCpu ?? 'none', load: 'inherited (npm script runs taskset -c 1)' },
    scenarios,
    checks,
    thresholds: th,
  };
  mkdirSync(resultsDir, { recursive: true });
  const file = opt.out ? resolve(opt.out) : join(resultsDir, `fanout-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  printSummary(scenarios, checks, th);
  process.stderr.write(`\nresults: ${file}\n`);
  // As k6: a failed check means a broken run (1); a crossed threshold is a measured miss (99).
  process.exitCode = checks.some((c) => !c.ok) ? 1 : th.some((t) => !t.ok) ? 99 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`fanout-bench: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
