import type { MetricSummary } from './summary.js';

/**
 * k6 thresholds: `{ metric: ['p(99)<250', 'max<1000'] }`. An expression is
 * `aggregation operator number`; the aggregations a metric has are the keys
 * of its summary: counter `count`, `rate`; gauge `value`, `min`, `max`; rate
 * `rate`; trend `avg`, `min`, `med`, `max`, `p(N)`. A metric named in a
 * threshold that the run never recorded fails it (nothing measured is not a pass).
 */
export type Thresholds = Record<string, string[]>;

export interface ParsedThreshold {
  metric: string;
  source: string;
  aggregation: string;
  percentile: number | undefined;
  op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  value: number;
}

export interface ThresholdResult extends ParsedThreshold {
  actual: number | undefined;
  ok: boolean;
}

const RE =
  /^\s*(avg|min|max|med|count|rate|value|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|<|>|===|==|!=)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/;

export function parseThreshold(metric: string, source: string): ParsedThreshold {
  const m = RE.exec(source);
  if (!m)
    throw new Error(
      `threshold "${source}" on ${metric}: use e.g. p(99)<250, rate<0.01, count>0, value<=2048`,
    );
  const percentile = m[2] === undefined ? undefined : Number(m[2]);
  if (percentile !== undefined && (percentile < 0 || percentile > 100))
    throw new Error(`threshold "${source}" on ${metric}: a percentile is between 0 and 100`);
  const op = m[3] === '===' ? '==' : (m[3] as ParsedThreshold['op']);
  return {
    metric,
    source,
    aggregation: percentile === undefined ? m[1]! : 'p',
    percentile,
    op,
    value: Number(m[4]),
  };
}

export function parseThresholds(t: Thresholds): ParsedThreshold[] {
  return Object.entries(t).flatMap(([metric, list]) => list.map((s) => parseThreshold(metric, s)));
}

/** Percentiles the thresholds ask for beyond the summary's own (90, 95, 99). */
export function percentilesOf(ts: ParsedThreshold[]): number[] {
  return [...new Set(ts.flatMap((t) => (t.percentile === undefined ? [] : [t.percentile])))].filter(
    (p) => ![90, 95, 99].includes(p),
  );
}

function actualOf(t: ParsedThreshold, s: MetricSummary | undefined): number | undefined {
  if (!s) return undefined;
  const key = t.percentile === undefined ? t.aggregation : `p(${t.percentile})`;
  const v = (s as unknown as Record<string, unknown>)[key];
  if (typeof v !== 'number')
    throw new Error(`threshold "${t.source}": ${t.metric} is a ${s.type}, which has no ${key}`);
  return v;
}

const cmp = (a: number, op: ParsedThreshold['op'], b: number): boolean =>
  op === '<'
    ? a < b
    : op === '<='
      ? a <= b
      : op === '>'
        ? a > b
        : op === '>='
          ? a >= b
          : op === '=='
            ? a === b
            : a !== b;

export function evaluate(ts: ParsedThreshold[], summary: Record<string, MetricSummary>): ThresholdResult[] {
  return ts.map((t) => {
    const actual = actualOf(t, summary[t.metric]);
    const ok = actual !== undefined && !Number.isNaN(actual) && cmp(actual, t.op, t.value);
    return { ...t, actual, ok };
  });
}
