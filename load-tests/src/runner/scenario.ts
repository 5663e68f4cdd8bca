import type { ShutterClient } from '@shutter/client-sdk';
import type { Aggregate } from './aggregate.js';
import type { Metrics } from './metrics.js';
import type { ReportSpec } from './report/page-spec.js';
import type { Thresholds } from './thresholds.js';

/** k6's executors (the subset a real-time server needs). Durations as in k6: `30s`, `2m`, `500ms`. */
export type Executor =
  | { executor: 'constant-vus'; vus: number; duration: string }
  | {
      executor: 'ramping-vus';
      startVUs?: number;
      stages: { duration: string; target: number }[];
    }
  | { executor: 'per-vu-iterations'; vus: number; iterations: number; maxDuration: string }
  | {
      executor: 'constant-arrival-rate';
      /** Iterations started per `timeUnit`, whether or not earlier ones finished. */
      rate: number;
      timeUnit?: string;
      duration: string;
      preAllocatedVUs: number;
      maxVUs?: number;
    }
  /** No VUs: the scenario's `run` on the runner drives everything (e.g. `broadcast`). */
  | { executor: 'none' };

export type ExecutorOptions = Executor & {
  /** How long running iterations may finish after the executor's end before they are aborted (default 10s). */
  gracefulStop?: string;
};

/** The Shutter the VUs talk to: one the runner started, or a URL given with --url. */
export interface TargetInfo {
  /** The first node's WebSocket URL. */
  wsUrl: string;
  /** Every node's (a local cluster has several); VU n connects to node (n - 1) mod count. */
  wsUrls: string[];
  httpUrl: string;
  /** HS256 secret that signs VU tokens. */
  secret: string;
  adminToken: string;
  transport: string;
}

export interface RunnerTarget extends TargetInfo {
  /** Nodes the runner started (1 for one node or --url). */
  readonly nodes: number;
  /** The first node's process id, when the runner started it (RSS and CPU come from /proc). */
  readonly pid: number | undefined;
  /**
   * The relational store of a node the runner started (its DATABASE_URL and
   * NAMESPACE), for scenarios that seed data straight into the tables;
   * undefined with --url.
   */
  readonly database: { url: string; namespace: string } | undefined;
  /** Publishes `data` on `stream` through the admin API (of the last node in a local cluster). */
  publish(stream: string, data: unknown): Promise<void>;
  /**
   * The RSS of a node the runner started once it is settled: full GCs, and
   * V8's young generation given back (it grows to 32 MB under load and
   * shrinks only when V8's memory reducer runs, seconds after a busy phase).
   * With `stableMs`, RSS must also have stayed within 1 MB for that long
   * (other isolates, such as tsx's module-loader thread, shrink on their own
   * schedule). Tries for up to `maxMs` (0: one reading); `settled` says
   * whether it got there. `heapUsed`: the JS heap in use after the GCs.
   * In a local cluster: the sum over its nodes, settled when each one is.
   */
  settledRss(
    maxMs: number,
    stableMs?: number,
  ): Promise<{ rss: number; newSpace: number; heapUsed: number; settled: boolean } | undefined>;
  /** Kills (signal) and starts the (first) node again on the same port; resolves when it is ready again. */
  restart(signal: NodeJS.Signals, onDown?: () => void): Promise<void>;
  /** The same for node `index` (0-based) of a local cluster. */
  restartNode(index: number, signal: NodeJS.Signals, onDown?: () => void): Promise<void>;
  /**
   * Which node (0-based) of a local cluster owns logical shard `shard` now,
   * from the cluster's shard map; undefined for one node or --url.
   */
  ownerOf(shard: number): Promise<number | undefined>;
}

export type Params = Record<string, string | number | boolean>;

export interface ScenarioOptions {
  executor: ExecutorOptions;
  thresholds: Thresholds;
  /** Settings of a node the runner starts (environment of server/src/main.ts). */
  nodeEnv?: Record<string, string>;
  /** The scenario restarts the node: it cannot run against --url. */
  needsOwnNode?: boolean;
  /** The scenario starts its own servers (no target at all). */
  noTarget?: boolean;
  /** Metrics shown in the live progress line. */
  progress?: string[];
  /** Nodes the runner starts by default (a local cluster when above 1); `--nodes` overrides it. */
  nodes?: number;
  /**
   * How long the scenario's own `run` may take beyond the executor's plan
   * (a scenario with no VUs, such as `broadcast`): added to the planned
   * time, so the run's hard cap (planned + 300 s) stays above it.
   */
  runSeconds?: number;
}

/** What one VU sees, in a worker process. */
export interface Vu<D, S> {
  /** 1-based over the whole test, like k6's __VU. */
  readonly id: number;
  /** 0-based count of this VU's iterations, like k6's __ITER. */
  iteration: number;
  readonly worker: number;
  readonly data: D;
  readonly params: Params;
  readonly target: TargetInfo;
  /** Kept across this VU's iterations (a connected client, say). */
  state: Partial<S>;
  readonly metrics: Metrics;
  check(name: string, ok: boolean): boolean;
  /** Aborted when the test stops (gracefulStop over, or the run was interrupted). */
  readonly signal: AbortSignal;
  /** Sleeps; returns early (false) when the test stops. */
  sleep(ms: number): Promise<boolean>;
  /** Resolves with the payload of the runner's `signal(name, payload)` (at once if it came already). */
  waitFor<T = unknown>(name: string): Promise<T>;
  /** The source address of this VU's sockets (spread over 127.0.0.x). */
  readonly localAddress: string;
  /** An HS256 token for `sub` (default `vu<id>`), valid for an hour. */
  token(sub?: string): string;
  /** A client of the real SDK bound to this VU's source address; not yet connected. */
  client(options?: {
    sub?: string;
    /** Give the client every node's URL (its own first), so it moves to another node when its own goes away. */
    failover?: boolean;
    codec?: 'msgpack' | 'json';
    backoff?: { minMs?: number; maxMs?: number };
  }): ShutterClient;
}

/** What the scenario's runner-side hooks see. */
export interface RunnerContext<P extends Params> {
  readonly params: P;
  readonly target: RunnerTarget;
  /** Metrics recorded by the runner itself (server RSS, recovery time...). */
  readonly metrics: Metrics;
  check(name: string, ok: boolean, detail?: string): boolean;
  /** The live totals of every process, updated about once a second. */
  readonly live: Aggregate;
  /** Sends a named signal to every VU (see `Vu.waitFor`). */
  signal(name: string, payload?: unknown): void;
  /** Aborted when the test must stop (time cap, Ctrl-C). */
  readonly abort: AbortSignal;
  /** Waits until `cond()` holds, checking every 100 ms; false if `timeoutMs` passed first. */
  until(cond: () => boolean, timeoutMs: number): Promise<boolean>;
  log(line: string): void;
  /** Where the runner writes results (the scenario may add files). */
  readonly resultsDir: string;
  readonly smoke: boolean;
}

export interface Scenario<P extends Params = Params, D = unknown, S = Record<string, unknown>> {
  name: string;
  description: string;
  /** Default parameters; each is a command-line option (`--sockets 5000`). */
  params: P;
  /** What `--smoke` changes: tiny, seconds long. */
  smoke: Partial<P>;
  /** Its table on the performance page (`npm run load:page`): configurations, headline figures, targets. */
  report?: ReportSpec;
  options(p: P): ScenarioOptions;
  /** Runner side, before the VUs start; its result is every VU's `data`. */
  setup?(ctx: RunnerContext<P>): Promise<D>;
  /** Runner side, while the VUs run (restarts, publishing, sampling the server). */
  run?(ctx: RunnerContext<P>, data: D): Promise<void>;
  /** Worker side: one iteration of one VU. */
  iteration?(vu: Vu<D, S>): Promise<void>;
  /** Worker side: a VU stops (ramped down, executor over); close what it holds. */
  vuTeardown?(vu: Vu<D, S>): Promise<void> | void;
}

export function defineScenario<P extends Params, D = unknown, S = Record<string, unknown>>(
  s: Scenario<P, D, S>,
): Scenario<P, D, S> {
  return s;
}
