import type { Aggregate } from './aggregate.js';

/** What the end-of-test summary says about one metric; the keys are the threshold aggregations. */
export type MetricSummary =
  | { type: 'counter'; count: number; rate: number }
  | { type: 'gauge'; value: number; min: number; max: number }
  | { type: 'rate'; rate: number; passes: number; fails: number }
  | {
      type: 'trend';
      count: number;
      avg: number;
      min: number;
      med: number;
      max: number;
      'p(90)': number;
      'p(95)': number;
      'p(99)': number;
      [pct: `p(${string})`]: number;
    };

export interface Point {
  /** Seconds since start. */
  t: number;
  /** counter: per second; gauge: value; rate: rate; trend: p50, p95, p99, max in `q`. */
  v: number;
  q?: { p50: number; p95: number; p99: number; max: number; count: number };
}

export function summarize(
  agg: Aggregate,
  durationSec: number,
  extraPercentiles: number[],
): Record<string, MetricSummary> {
  const out: Record<string, MetricSummary> = {};
  for (const [name, s] of [...agg.metrics].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (s.type === 'counter')
      out[name] = { type: 'counter', count: s.total, rate: s.total / Math.max(durationSec, 1e-9) };
    else if (s.type === 'gauge') out[name] = { type: 'gauge', value: s.value, min: s.min, max: s.max };
    else if (s.type === 'rate')
      out[name] = {
        type: 'rate',
        rate: s.total ? s.pass / s.total : 0,
        passes: s.pass,
        fails: s.total - s.pass,
      };
    else {
      const h = s.hdr;
      const t: MetricSummary = {
        type: 'trend',
        count: h.count,
        avg: h.avg,
        min: h.count ? h.min : Number.NaN,
        med: h.quantile(0.5),
        max: h.count ? h.max : Number.NaN,
        'p(90)': h.quantile(0.9),
        'p(95)': h.quantile(0.95),
        'p(99)': h.quantile(0.99),
      };
      for (const p of extraPercentiles) t[`p(${p})`] = h.quantile(p / 100);
      out[name] = t;
    }
  }
  return out;
}

/** One point per second for the charts. */
export function timeline(agg: Aggregate): Record<string, Point[]> {
  const out: Record<string, Point[]> = {};
  for (const [name, s] of agg.metrics) {
    const pts: Point[] = [];
    if (s.type === 'trend') {
      for (const [t, h] of [...s.perSec].sort((a, b) => a[0] - b[0]))
        pts.push({
          t,
          v: h.quantile(0.5),
          q: {
            p50: h.quantile(0.5),
            p95: h.quantile(0.95),
            p99: h.quantile(0.99),
            max: h.max,
            count: h.count,
          },
        });
    } else if (s.type === 'rate') {
      for (const [t, [p, n]] of [...s.perSec].sort((a, b) => a[0] - b[0])) pts.push({ t, v: n ? p / n : 0 });
    } else if (s.type === 'counter') {
      // Every second up to the last, so a quiet second shows as 0, not as a line across it.
      for (let t = 0; t <= agg.lastSec; t++) pts.push({ t, v: s.perSec.get(t) ?? 0 });
    } else {
      for (const [t, v] of [...s.perSec].sort((a, b) => a[0] - b[0])) pts.push({ t, v });
    }
    out[name] = pts;
  }
  return out;
}
