import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClientKind } from '../fanout/ipc.js';
import type { Burst } from '../fanout/phases.js';
import { runTarget } from '../fanout/run-target.js';
import { TARGETS, type TargetName } from '../fanout/targets.js';
import { atLeast, type ReportColumn } from '../runner/report/page-spec.js';
import { defineScenario } from '../runner/scenario.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * `--bursts 1,16,p16`: one throughput phase each; n: n events per publish
 * (one request), pn: volleys of n single-event publishes at once.
 */
function burstsOf(list: string): Burst[] {
  const out = list
    .split(',')
    .map((b) => ({ size: Number(b.replace(/^p/, '')), parallel: b.startsWith('p') }));
  if (out.some((b) => !Number.isInteger(b.size) || b.size < 1 || b.size > 1000))
    throw new Error('--bursts: a comma-separated list of n or pn (n from 1 to 1000)');
  return out;
}

/** Metric name suffix of a phase: none for one event per publish, `_burst16` for 16 per publish, `_par16` for 16 at once. */
const suffix = (b: Burst): string => (b.size === 1 ? '' : `_${b.parallel ? 'par' : 'burst'}${b.size}`);

/**
 * The page's columns of one throughput phase: Shutter per server CPU-second,
 * the raw transport and Shutter's ratio to it (DESIGN.md "Targets": ≥ 90 %
 * of the raw transport it runs on, fed the same way), Socket.IO on the same
 * engine and Shutter's ratio to it (no target: the peer a Node team would
 * pick instead).
 */
function phaseColumns(x: string, label: string): ReportColumn[] {
  const per = (who: string) => `deliveries_per_server_cpu_s${x}{target:${who}-{engine}}`;
  return [
    { label, metric: per('shutter'), stat: 'value', format: 'count' },
    { label: 'raw', metric: per('raw'), stat: 'value', format: 'count' },
    {
      label: 'ratio',
      metric: `deliveries_vs_raw${x}{engine:{engine}}`,
      stat: 'value',
      format: 'ratio',
      target: () => atLeast(0.9, '0.90'),
    },
    { label: 'Socket.IO', metric: per('socketio'), stat: 'value', format: 'count' },
    {
      label: '× Socket.IO',
      metric: `deliveries_vs_peer${x}{engine:{engine}}`,
      stat: 'value',
      format: 'ratio',
    },
  ];
}

/**
 * The WebSocket fan-out benchmark as a scenario: N sockets on one topic,
 * Shutter (uWS and ws engines) beside a raw uWebSockets.js and a raw ws
 * broadcast server and Socket.IO on each engine (the peer: the same room
 * broadcast a Node team would write) in the same run, each in its own process (pinned to
 * `serverCpu`, the runner and its client processes to `loadCpu`). Its client
 * processes speak protocol v1 (load-tests/src/fanout), the same client for
 * every target, so the raw baselines and Shutter are fed and read the same
 * way. By default (`--client native`) a client process connects,
 * authenticates and subscribes in Node, then hands its sockets to a small C
 * reader (load-tests/native/fastread.c) that counts frames and passes back
 * every `sampleEvery`-th event per socket (every post) for Node to decode,
 * time and seq-check: it out-runs the server, so the raw baselines are
 * server-bound (the client_cpu_per_server_cpu thresholds check it). `lean`
 * does the same in Node (lean-ws.ts; about twice the server's CPU per read),
 * `ws` decodes every frame with the `ws` library.
 * The throughput phase runs once per entry of `bursts` (events per
 * publish): 1 is one event per publish, more is a burst that arrives in one
 * request (Shutter: one admin publish of `{events}`; raw: one body of frames).
 */
export default defineScenario<{
  sockets: number;
  targets: string;
  posts: number;
  postIntervalMs: number;
  events: number;
  publishesPerSecond: number;
  maxSeconds: number;
  bursts: string;
  client: string;
  sampleEvery: number;
  settleSeconds: number;
  socketsPerClient: number;
  codec: string;
  serverCpu: string;
  loadCpu: string;
  profile: boolean;
}>({
  name: 'broadcast',
  description:
    'fan-out to N sockets on one topic, Shutter beside raw uWS / raw ws and Socket.IO on each in the same run',
  params: {
    sockets: 10_000,
    targets: TARGETS.join(','),
    posts: 20,
    postIntervalMs: 300,
    events: 2000,
    publishesPerSecond: 8,
    maxSeconds: 12,
    bursts: '1,16',
    client: 'native',
    sampleEvery: 64,
    settleSeconds: 90,
    socketsPerClient: 5000,
    codec: 'msgpack',
    serverCpu: '0',
    loadCpu: '1',
    profile: false,
  },
  // Smoke: one engine with its raw baseline and its peer, so it stays seconds long.
  smoke: {
    targets: 'raw-uws,shutter-uws,socketio-uws',
    sockets: 50,
    posts: 3,
    postIntervalMs: 100,
    events: 20,
    publishesPerSecond: 20,
    maxSeconds: 2,
    bursts: '1,4',
    sampleEvery: 4,
  },
  report: {
    // One run per engine (raw, Shutter and Socket.IO on it) is the usual split: its targets tell it apart.
    variant: ['sockets', 'client', 'targets'],
    rows: (r) =>
      ['uws', 'ws']
        .filter((e) => String(r.params.targets).includes(`shutter-${e}`))
        .map((engine) => ({ label: engine === 'uws' ? 'uWS' : 'ws', vars: { engine } })),
    columns: [
      ...phaseColumns('', 'Shutter, per server CPU-s (1 event a write)'),
      ...phaseColumns('_burst16', 'Shutter, bursts of 16'),
      {
        label: 'post delivery p99',
        metric: 'post_delivery_p99_ms{target:shutter-{engine}}',
        stat: 'value',
        format: 'ms',
      },
      {
        label: 'idle RSS per socket',
        metric: 'rss_per_idle_socket_bytes{target:shutter-{engine}}',
        stat: 'value',
        format: 'bytes',
      },
      {
        label: 'Socket.IO',
        metric: 'rss_per_idle_socket_bytes{target:socketio-{engine}}',
        stat: 'value',
        format: 'bytes',
      },
    ],
  },
  options: (p) => {
    const targets = p.targets.split(',') as TargetName[];
    for (const t of targets)
      if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}; use ${TARGETS.join(',')}`);
    const bursts = burstsOf(p.bursts);
    if (!['native', 'lean', 'ws'].includes(p.client)) throw new Error('--client: native, lean or ws');
    if (p.client === 'ws' && targets.some((t) => t.startsWith('socketio')))
      throw new Error('--client ws does not speak Socket.IO: use native or lean with socketio targets');
    if (!Number.isInteger(p.sampleEvery) || p.sampleEvery < 1)
      throw new Error('--sampleEvery: a whole number ≥ 1');
    if (p.socketsPerClient > 18_000)
      throw new Error('--socketsPerClient: at most 18 000 (open files per process)');
    const th: Record<string, string[]> = { checks: ['rate==1'] };
    for (const t of targets) th[`events_lost{target:${t}}`] = ['count==0'];
    // DESIGN.md "Targets"; below 1 000 sockets (smoke) the ratios and RSS are noise, so only recorded.
    if (p.sockets >= 1000)
      for (const engine of ['uws', 'ws'] as const) {
        if (!targets.includes(`shutter-${engine}`)) continue;
        if (targets.includes(`raw-${engine}`))
          for (const b of bursts) th[`deliveries_vs_raw${suffix(b)}{engine:${engine}}`] = ['value>=0.9'];
        th[`rss_per_idle_socket_bytes{target:shutter-${engine}}`] = [
          `value<=${engine === 'uws' ? 2048 : 10_240}`,
        ];
        if (p.sockets >= 10_000) th[`post_delivery_p99_ms{target:shutter-${engine}}`] = ['value<=250'];
        // The baseline is server-bound only if its clients spent less CPU than it did.
        if (p.client !== 'ws' && targets.includes(`raw-${engine}`))
          for (const b of bursts)
            th[`client_cpu_per_server_cpu${suffix(b)}{target:raw-${engine}}`] = ['value<1'];
      }
    // Per target at most: three settled RSS readings, the connects (~500/s at worst here), the posts,
    // each throughput phase with its drain (30 s at most); the runner's cap adds 300 s to this.
    const perTarget =
      (p.sockets >= 1000 ? 3 * p.settleSeconds : 3) +
      p.sockets / 500 +
      (p.posts * p.postIntervalMs) / 1000 +
      bursts.length * (p.maxSeconds + 30) +
      30;
    return {
      executor: { executor: 'none' },
      thresholds: th,
      noTarget: true,
      runSeconds: Math.ceil(targets.length * perTarget),
    };
  },

  async run(ctx) {
    const p = ctx.params;
    if (p.loadCpu !== 'none')
      // The runner and the client processes it forks from now on share one core; servers get the other.
      execFileSync('taskset', ['-a', '-p', '-c', p.loadCpu, String(process.pid)], { stdio: 'ignore' });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const profileDir = p.profile ? join(ctx.resultsDir, `profiles-${stamp}`) : undefined;
    const results: Awaited<ReturnType<typeof runTarget>>[] = [];
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
        publishesPerSecond: p.publishesPerSecond,
        maxSeconds: p.maxSeconds,
        bursts: burstsOf(p.bursts),
        client: p.client as ClientKind,
        sampleEvery: p.sampleEvery,
        pauseScale: ctx.smoke ? 0.2 : 1,
        settleMs: p.sockets >= 1000 ? p.settleSeconds * 1000 : 0,
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
      let lost = r.posts.expected - r.posts.received;
      for (const l of r.loads) {
        const x = suffix({ size: l.burst, parallel: l.parallel });
        g(`load_delivery_p50_ms${x}`, l.p50Ms);
        g(`load_delivery_p99_ms${x}`, l.p99Ms);
        g(`deliveries_per_second${x}`, l.deliveriesPerSecond);
        g(`deliveries_per_server_cpu_s${x}`, l.deliveriesPerServerCpuSecond);
        g(
          `client_cpu_per_server_cpu${x}`,
          l.serverCpuSeconds > 0 ? l.clientCpuSeconds / l.serverCpuSeconds : 0,
        );
        g(`events_per_read${x}`, l.eventsPerRead);
        lost += l.expected - l.received;
      }
      ctx.metrics.counter(`events_lost${tag}`).add(lost);
    }
    for (const engine of ['uws', 'ws'])
      for (const b of burstsOf(p.bursts)) {
        const per = (t: string) =>
          results
            .find((r) => r.target === t)
            ?.loads.find((l) => l.burst === b.size && l.parallel === b.parallel)
            ?.deliveriesPerServerCpuSecond;
        const s = per(`shutter-${engine}`);
        if (s === undefined) continue;
        // Shutter ÷ the raw transport, and ÷ the peer (Socket.IO on the same engine), fed the same way.
        // 0: not measurable (the other server used less than a clock tick of CPU, as in smoke runs).
        for (const [metric, other] of [
          ['deliveries_vs_raw', per(`raw-${engine}`)],
          ['deliveries_vs_peer', per(`socketio-${engine}`)],
        ] as const)
          if (other !== undefined)
            ctx.metrics.gauge(`${metric}${suffix(b)}{engine:${engine}}`).set(other > 0 ? s / other : 0);
      }
    // Everything each target measured (memory split, CPU, phases), beside the runner's summary.
    mkdirSync(ctx.resultsDir, { recursive: true });
    const file = join(ctx.resultsDir, `broadcast-detail${ctx.smoke ? '-smoke' : ''}-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify({ params: p, results }, null, 2)}\n`);
    ctx.log(`  per-target detail: ${file}`);
  },
});
