import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTarget } from '../fanout/run-target.js';
import { TARGETS, type TargetName } from '../fanout/targets.js';
import { defineScenario } from '../runner/scenario.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The WebSocket fan-out benchmark as a scenario: N sockets on one topic,
 * Shutter (uWS and ws engines) beside a raw uWebSockets.js and a raw ws
 * broadcast server in the same run, each in its own process (pinned to
 * `serverCpu`, the runner and its client processes to `loadCpu`). Its client
 * processes speak protocol v1 over raw `ws` (load-tests/src/fanout), the same
 * client for every target, so the raw baselines and Shutter are fed and read
 * the same way; they are lighter than the SDK, which keeps the server the
 * bottleneck.
 */
export default defineScenario<{
  sockets: number;
  targets: string;
  posts: number;
  postIntervalMs: number;
  events: number;
  eventsPerSecond: number;
  maxSeconds: number;
  socketsPerClient: number;
  codec: string;
  serverCpu: string;
  loadCpu: string;
  profile: boolean;
}>({
  name: 'broadcast',
  description: 'fan-out to N sockets on one topic, Shutter beside raw uWS / raw ws in the same run',
  params: {
    sockets: 10_000,
    targets: TARGETS.join(','),
    posts: 20,
    postIntervalMs: 300,
    events: 400,
    eventsPerSecond: 40,
    maxSeconds: 12,
    socketsPerClient: 5000,
    codec: 'msgpack',
    serverCpu: '0',
    loadCpu: '1',
    profile: false,
  },
  // Smoke: one engine with its raw baseline, so it stays seconds long.
  smoke: {
    targets: 'raw-uws,shutter-uws',
    sockets: 50,
    posts: 3,
    postIntervalMs: 100,
    events: 20,
    eventsPerSecond: 20,
    maxSeconds: 2,
  },
  options: (p) => {
    const targets = p.targets.split(',') as TargetName[];
    for (const t of targets)
      if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}; use ${TARGETS.join(',')}`);
    if (p.socketsPerClient > 18_000)
      throw new Error('--socketsPerClient: at most 18 000 (open files per process)');
    const th: Record<string, string[]> = { checks: ['rate==1'] };
    for (const t of targets) th[`events_lost{target:${t}}`] = ['count==0'];
    // DESIGN.md "Targets"; below 1 000 sockets (smoke) the ratios and RSS are noise, so only recorded.
    if (p.sockets >= 1000)
      for (const engine of ['uws', 'ws'] as const) {
        if (!targets.includes(`shutter-${engine}`)) continue;
        if (targets.includes(`raw-${engine}`)) th[`deliveries_vs_raw{engine:${engine}}`] = ['value>=0.9'];
        th[`rss_per_idle_socket_bytes{target:shutter-${engine}}`] = [
          `value<=${engine === 'uws' ? 2048 : 10_240}`,
        ];
        if (p.sockets >= 10_000) th[`post_delivery_p99_ms{target:shutter-${engine}}`] = ['value<=250'];
      }
    return { executor: { executor: 'none' }, thresholds: th, noTarget: true };
  },

  async run(ctx) {
    const p = ctx.params;
    if (p.loadCpu !== 'none')
      // The runner and the client processes it forks from now on share one core; servers get the other.
      execFileSync('taskset', ['-a', '-p', '-c', p.loadCpu, String(process.pid)], { stdio: 'ignore' });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const profileDir = p.profile ? join(ctx.resultsDir, `profiles-${stamp}`) : undefined;
    const results = [];
    for (const name of p.targets.split(',') as TargetName[]) {
      if (ctx.abort.aborted) break;
      const r = await runTarget(name, p.sockets, {
        repoRoot,
        codec: p.codec === 'json' ? 'json' : 'msgpack',
        serverCpu: p.serverCpu === 'none' ? undefined : Number(p.serverCpu),
        profileDir,
        socketsPerClient: p.socketsPerClient,
        posts: p.posts,
        postIntervalMs: p.postIntervalMs,
        events: p.events,
        rate: p.eventsPerSecond,
        maxSeconds: p.maxSeconds,
        pauseScale: ctx.smoke ? 0.2 : 1,
        settleMs: p.sockets >= 1000 ? 90_000 : 0,
        check: (n, ok, detail) => ctx.check(n, ok, detail),
        log: ctx.log,
      });
      results.push(r);
      const tag = `{target:${name}}`;
      const g = (m: string, v: number) => ctx.metrics.gauge(`${m}${tag}`).set(v);
      g('sockets', r.sockets);
      g('connect_seconds', r.rampSeconds);
      g('rss_per_idle_socket_bytes', r.rss.perIdleSocketBytes);
      g('rss_per_subscribed_socket_bytes', r.rss.perSubscribedSocketBytes);
      g('post_delivery_p50_ms', r.posts.p50Ms);
      g('post_delivery_p99_ms', r.posts.p99Ms);
      g('post_delivery_max_ms', r.posts.maxMs);
      g('load_delivery_p99_ms', r.load.p99Ms);
      g('deliveries_per_second', r.load.deliveriesPerSecond);
      g('deliveries_per_server_cpu_s', r.load.deliveriesPerServerCpuSecond);
      ctx.metrics
        .counter(`events_lost${tag}`)
        .add(r.posts.expected - r.posts.received + r.load.expected - r.load.received);
    }
    for (const engine of ['uws', 'ws']) {
      const s = results.find((r) => r.target === `shutter-${engine}`);
      const raw = results.find((r) => r.target === `raw-${engine}`);
      if (s && raw)
        ctx.metrics
          .gauge(`deliveries_vs_raw{engine:${engine}}`)
          .set(s.load.deliveriesPerServerCpuSecond / raw.load.deliveriesPerServerCpuSecond);
    }
    // Everything each target measured (memory split, CPU, phases), beside the runner's summary.
    mkdirSync(ctx.resultsDir, { recursive: true });
    const file = join(ctx.resultsDir, `broadcast-detail${ctx.smoke ? '-smoke' : ''}-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify({ params: p, results }, null, 2)}\n`);
    ctx.log(`  per-target detail: ${file}`);
  },
});
