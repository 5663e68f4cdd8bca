import type { Machine } from '../fanout/proc.js';
import type { ExecutorOptions, Params } from './scenario.js';
import type { MetricSummary, Point } from './summary.js';

/** The JSON summary of one run (also what the text and HTML reports are made from). */
export interface RunResult {
  scenario: string;
  description: string;
  command: string;
  startedAt: string;
  durationSec: number;
  smoke: boolean;
  params: Params;
  executor: ExecutorOptions;
  target: { url: string; nodes: number; transport: string; startedByRunner: boolean };
  machine: Machine;
  /** 1-minute load average of the (shared, 2-core) machine at start and end. */
  loadAverage: { start: number; end: number };
  metrics: Record<string, MetricSummary>;
  checks: { name: string; passes: number; fails: number }[];
  thresholds: { metric: string; threshold: string; actual: number | null; ok: boolean }[];
  timeline: Record<string, Point[]>;
  /** Iteration errors (first few per worker) and the runner's own error, if any. */
  errors: string[];
  aborted: boolean;
  /** Why the run itself failed (bad options, a node that did not start, a worker that died); null if it did not. */
  runError: string | null;
  /** Every threshold passed and the run finished without error. */
  ok: boolean;
}
