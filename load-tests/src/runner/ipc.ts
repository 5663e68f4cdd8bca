import type { Window } from './metrics.js';
import type { ExecutorOptions, Params, TargetInfo } from './scenario.js';

export interface WorkerPlan {
  scenario: string;
  params: Params;
  executor: ExecutorOptions;
  worker: number;
  workers: number;
  /** Epoch ms at which the executor starts (and from which metric seconds count). */
  startAt: number;
  /** Metric seconds count from here (the test's start, before setup). */
  t0: number;
  data: unknown;
  target: TargetInfo;
  /** First source address octet and how many addresses to spread over (127.0.0.<first + k>). */
  addressFirst: number;
  addressCount: number;
}

/** Runner → worker. */
export type ToWorker =
  | { cmd: 'start'; plan: WorkerPlan }
  | { cmd: 'signal'; name: string; payload: unknown }
  /** Stop now: abort running iterations, close every VU. */
  | { cmd: 'stop' };

/** Worker → runner. */
export type FromWorker =
  | { ev: 'ready' }
  | { ev: 'metrics'; windows: Window[]; active: number; errors: string[] }
  | { ev: 'done' };
