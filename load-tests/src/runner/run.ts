import { type ChildProcess, fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { machine } from '../fanout/proc.js';
import { scenarios } from '../scenarios/index.js';
import { Aggregate } from './aggregate.js';
import { formatMs, parseDuration } from './duration.js';
import { maxVus, plannedMs } from './executors.js';
import type { FromWorker, ToWorker, WorkerPlan } from './ipc.js';
import { Metrics } from './metrics.js';
import type { RunResult } from './result.js';
import type { ExecutorOptions, Params, RunnerContext, RunnerTarget, Scenario } from './scenario.js';
import { summarize, timeline } from './summary.js';
import { externalTarget, type OwnedTarget, startNode } from './target.js';
import { evaluate, parseThresholds, percentilesOf } from './thresholds.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** Sockets one worker process holds at most: well below its 20 000 open files. */
export const VUS_PER_WORKER = 8000;
/** Source addresses 127.0.0.10 … 127.0.0.109: ~28 000 ephemeral ports each. */
const ADDRESS_FIRST = 10;
const ADDRESS_COUNT = 100;

export interface ExecutorOverrides {
  vus?: number;
  duration?: string;
  iterations?: number;
  stages?: { duration: string; target: number }[];
  rate?: number;
}

export interface RunOptions {
  scenario: string;
  params: Params;
  smoke: boolean;
  url: string | undefined;
  secret: string | undefined;
  adminToken: string | undefined;
  workers: number | undefined;
  executor: ExecutorOverrides;
  /** Thresholds added on the command line (beside the scenario's). */
  extraThresholds: Record<string, string[]>;
  /** Hard cap on the whole run, setup and teardown included. */
  maxSeconds: number | undefined;
  repoRoot: string;
  resultsDir: string;
  databaseUrl: string;
  redisUrl: string;
  natsUrl: string;
  /** Nodes the runner starts: 1, or a local cluster. */
  /** Undefined: the scenario's own default (one node unless it says otherwise). */
  nodes: number | undefined;
  quiet: boolean;
  command: string;
}

export function applyOverrides(e: ExecutorOptions, o: ExecutorOverrides): ExecutorOptions {
  const out = { ...e } as ExecutorOptions & Record<string, unknown>;
  const set = (k: string, v: unknown) => {
    if (v === undefined) return;
    if (!(k in out)) throw new Error(`--${k} does not apply to the ${e.executor} executor`);
    out[k] = v;
  };
  set('vus', o.vus);
  set('duration', o.duration);
  set('iterations', o.iterations);
  set('stages', o.stages);
  set('rate', o.rate);
  return out;
}

const say = (line: string) => process.stderr.write(`${line}\n`);

export async function run(o: RunOptions): Promise<RunResult> {
  const scenario = scenarios[o.scenario] as Scenario<Params, unknown> | undefined;
  if (!scenario)
    throw new Error(`unknown scenario "${o.scenario}"; known: ${Object.keys(scenarios).join(', ')}`);
  const params = { ...scenario.params, ...(o.smoke ? scenario.smoke : {}), ...o.params } as Params;
  const opts = scenario.options(params);
  const executor = applyOverrides(opts.executor, o.executor);
  const all: Record<string, string[]> = { ...opts.thresholds };
  for (const [m, list] of Object.entries(o.extraThresholds)) all[m] = [...(all[m] ?? []), ...list];
  const thresholds = parseThresholds(all);
  if (opts.needsOwnNode && o.url) throw new Error(`${scenario.name} restarts the node: run it without --url`);
  const nodes = o.nodes ?? (o.url ? 1 : (opts.nodes ?? 1));
  if (o.nodes !== undefined && o.nodes > 1 && o.url)
    throw new Error('--nodes starts a local cluster: not with --url');
  const planned =
    plannedMs(executor) + parseDuration(executor.gracefulStop ?? '10s') + (opts.runSeconds ?? 0) * 1000;
  const capMs = (o.maxSeconds ?? Math.ceil(planned / 1000) + 300) * 1000;
  const startedAt = new Date();
  const loadStart = loadavg()[0] ?? 0;
  const stopping = new AbortController();
  const cap = setTimeout(() => {
    say(`! the run passed its cap of ${capMs / 1000} s: stopping`);
    stopping.abort();
  }, capMs);
  const onSigint = () => {
    say('! interrupted: stopping (Ctrl-C again to kill)');
    process.off('SIGINT', onSigint);
    stopping.abort();
  };
  process.on('SIGINT', onSigint);

  const transport = params.transport === 'uws' ? 'uws' : 'ws';
  let owned: OwnedTarget | undefined;
  let target: RunnerTarget;
  if (opts.noTarget) target = externalTarget({ url: 'ws://127.0.0.1:1/ws', secret: '', adminToken: '' });
  else if (o.url) {
    if (!o.secret) throw new Error('--url needs --secret (the HS256 secret the server verifies tokens with)');
    target = externalTarget({ url: o.url, secret: o.secret, adminToken: o.adminToken ?? '' });
  } else {
    if (!o.quiet)
      say(
        nodes > 1
          ? `starting a local cluster of ${nodes} Shutter nodes (${transport})…`
          : `starting a Shutter node (${transport})…`,
      );
    owned = await startNode({
      repoRoot: o.repoRoot,
      transport,
      env: opts.nodeEnv ?? {},
      databaseUrl: o.databaseUrl,
      redisUrl: o.redisUrl,
      natsUrl: o.natsUrl,
      nodes,
      log: say,
    });
    target = owned;
  }

  const t0 = Date.now();
  const agg = new Aggregate();
  const metrics = new Metrics(() => t0);
  const procs: ChildProcess[] = [];
  const workerDone: Promise<void>[] = [];
  const workerErrors: string[] = [];
  const activeVus = new Map<number, number>();
  const sendAll = (m: ToWorker) => {
    for (const p of procs) if (p.connected) p.send(m);
  };
  const ctx: RunnerContext<Params> = {
    params,
    target,
    metrics,
    check: (name, ok, detail) => {
      metrics.check(name, ok);
      if (!o.quiet || !ok) say(`  ${ok ? '✓' : '✗'} ${name}${detail ? `: ${detail}` : ''}`);
      return ok;
    },
    live: agg,
    signal: (name, payload) => sendAll({ cmd: 'signal', name, payload }),
    abort: stopping.signal,
    until: async (cond, timeoutMs) => {
      const end = Date.now() + timeoutMs;
      while (!cond()) {
        if (Date.now() > end || stopping.signal.aborted) return false;
        await sleep(100);
      }
      return true;
    },
    log: (line) => {
      if (!o.quiet) say(line);
    },
    resultsDir: o.resultsDir,
    smoke: o.smoke,
  };
  const pull = () => agg.add('runner', metrics.flush());
  const pump = setInterval(pull, 250);
  let progress: NodeJS.Timeout | undefined;
  let error: unknown;
  try {
    const data = scenario.setup ? await scenario.setup(ctx) : undefined;
    const vus = maxVus(executor);
    const workers = vus === 0 ? 0 : Math.min(vus, o.workers ?? Math.max(2, Math.ceil(vus / VUS_PER_WORKER)));
    if (vus > 0 && Math.ceil(vus / workers) > VUS_PER_WORKER * 2)
      throw new Error(
        `${vus} VUs over ${workers} workers is too many per process (max ${VUS_PER_WORKER * 2})`,
      );
    const ready: Promise<void>[] = [];
    for (let w = 0; w < workers; w++) {
      const p = fork(WORKER, [], { execArgv: ['--conditions=source', '--import', 'tsx'], stdio: 'inherit' });
      procs.push(p);
      let onReady: () => void = () => undefined;
      ready.push(new Promise<void>((r) => (onReady = r)));
      workerDone.push(
        new Promise<void>((resolve, reject) => {
          p.on('message', (m: FromWorker) => {
            if (m.ev === 'ready') onReady();
            else if (m.ev === 'metrics') {
              agg.add(`w${w}`, m.windows);
              activeVus.set(w, m.active);
              for (const e of m.errors) {
                workerErrors.push(e);
                say(`  ! ${e}`);
              }
            } else if (m.ev === 'done') resolve();
          });
          p.once('exit', (code) =>
            code === 0 ? resolve() : reject(new Error(`worker ${w} exited with ${code}`)),
          );
        }),
      );
    }
    await Promise.race([Promise.all(ready), Promise.all(workerDone)]);
    const startAt = Date.now() + 100;
    for (let w = 0; w < workers; w++) {
      const plan: WorkerPlan = {
        scenario: scenario.name,
        params,
        executor,
        worker: w,
        workers,
        startAt,
        t0,
        data,
        target: {
          wsUrl: target.wsUrl,
          wsUrls: target.wsUrls,
          httpUrl: target.httpUrl,
          secret: target.secret,
          adminToken: target.adminToken,
          transport: target.transport,
        },
        addressFirst: ADDRESS_FIRST,
        addressCount: ADDRESS_COUNT,
      };
      procs[w]?.send({ cmd: 'start', plan } satisfies ToWorker);
    }
    if (!o.quiet) {
      say(
        `▶ ${scenario.name}: ${executor.executor}, ${vus} VUs over ${workers} workers, planned ${formatMs(plannedMs(executor))}`,
      );
      progress = setInterval(() => {
        const el = ((Date.now() - t0) / 1000).toFixed(0).padStart(4);
        const active = [...activeVus.values()].reduce((a, b) => a + b, 0);
        const shown = (opts.progress ?? [])
          .map((n) => {
            const s = agg.metrics.get(n);
            if (!s) return undefined;
            const v =
              s.type === 'counter'
                ? s.total
                : s.type === 'gauge'
                  ? s.value
                  : s.type === 'rate'
                    ? `${((s.pass / Math.max(1, s.total)) * 100).toFixed(1)}%`
                    : `p99 ${formatMs(s.hdr.quantile(0.99))}`;
            return `${n} ${v}`;
          })
          .filter(Boolean);
        say(`[${el}s] vus ${active}  iterations ${agg.counter('iterations')}  ${shown.join('  ')}`);
      }, 2000);
    }
    const stopWorkers = () => sendAll({ cmd: 'stop' });
    stopping.signal.addEventListener('abort', stopWorkers, { once: true });
    const runDone = scenario.run ? scenario.run(ctx, data) : Promise.resolve();
    await Promise.all([runDone, Promise.all(workerDone)]);
  } catch (e) {
    error = e;
    stopping.abort();
  } finally {
    clearTimeout(cap);
    clearInterval(progress);
    process.off('SIGINT', onSigint);
    // Workers end with the runner's channel; give them a moment, then make sure.
    for (const p of procs) if (p.connected) p.disconnect();
    await Promise.race([
      Promise.all(
        procs.map((p) => (p.exitCode !== null ? undefined : new Promise((r) => p.once('exit', r)))),
      ),
      sleep(10_000),
    ]);
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    clearInterval(pump);
    pull();
    if (owned) await owned.stop();
  }
  const durationSec = (Date.now() - t0) / 1000;
  const summary = summarize(agg, durationSec, percentilesOf(thresholds));
  const results = evaluate(thresholds, summary);
  return {
    scenario: scenario.name,
    description: scenario.description,
    command: o.command,
    startedAt: startedAt.toISOString(),
    durationSec,
    smoke: o.smoke,
    params,
    executor,
    target: {
      url: target.wsUrl,
      nodes: target.nodes,
      transport: target.transport,
      startedByRunner: owned !== undefined,
    },
    machine: machine(),
    loadAverage: { start: loadStart, end: loadavg()[0] ?? 0 },
    metrics: summary,
    checks: [...agg.checks].map(([name, [passes, fails]]) => ({ name, passes, fails })),
    thresholds: results.map((r) => ({
      metric: r.metric,
      threshold: r.source,
      actual: r.actual ?? null,
      ok: r.ok,
    })),
    timeline: timeline(agg),
    errors: [...workerErrors, ...(error ? [error instanceof Error ? error.message : String(error)] : [])],
    aborted: stopping.signal.aborted && !error,
    runError: error ? (error instanceof Error ? error.message : String(error)) : null,
    ok: !error && results.every((r) => r.ok),
  };
}
