import { formatMs } from '../duration.js';
import type { RunResult } from '../result.js';
import type { MetricSummary } from '../summary.js';

const unitOf = (name: string) =>
  /_ms(\{|$)/.test(name) || name === 'iteration_duration' ? 'ms' : /_bytes(\{|$)/.test(name) ? 'bytes' : '';

export function formatValue(name: string, v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const u = unitOf(name);
  if (u === 'ms') return formatMs(v);
  if (u === 'bytes')
    return v >= 1024 * 1024
      ? `${(v / 1024 / 1024).toFixed(2)} MiB`
      : v >= 1024
        ? `${(v / 1024).toFixed(2)} KiB`
        : `${v.toFixed(0)} B`;
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

function describe(name: string, s: MetricSummary): string {
  const f = (v: number) => formatValue(name, v);
  switch (s.type) {
    case 'counter':
      return `${s.count}  ${s.rate.toFixed(2)}/s`;
    case 'gauge':
      return `${f(s.value)}  min=${f(s.min)} max=${f(s.max)}`;
    case 'rate':
      return `${(s.rate * 100).toFixed(2)}%  ✓ ${s.passes}  ✗ ${s.fails}`;
    case 'trend':
      return `avg=${f(s.avg)} min=${f(s.min)} med=${f(s.med)} max=${f(s.max)} p(90)=${f(s['p(90)'])} p(95)=${f(s['p(95)'])} p(99)=${f(s['p(99)'])}  (${s.count})`;
  }
}

/** The end-of-test summary as k6 prints it: checks, thresholds, then every metric. */
export function textReport(r: RunResult): string {
  const out: string[] = [];
  out.push(`\n  scenario: ${r.scenario}${r.smoke ? ' (smoke)' : ''} — ${r.description}`);
  out.push(
    `  target:   ${r.target.url} (${r.target.transport}${r.target.startedByRunner ? ', started by the runner' : ''})`,
  );
  out.push(
    `  ran:      ${r.durationSec.toFixed(1)} s, ${r.machine.cores} × ${r.machine.cpu}, load average ${r.loadAverage.start.toFixed(2)} → ${r.loadAverage.end.toFixed(2)}`,
  );
  if (r.checks.length) {
    out.push('\n  checks');
    for (const c of r.checks)
      out.push(
        `    ${c.fails ? '✗' : '✓'} ${c.name}${c.fails ? `  (${c.fails} failed of ${c.passes + c.fails})` : `  (${c.passes})`}`,
      );
  }
  if (r.thresholds.length) {
    out.push('\n  thresholds');
    for (const t of r.thresholds)
      out.push(
        `    ${t.ok ? '✓' : '✗'} ${t.metric}: ${t.threshold}  (actual ${formatValue(t.metric, t.actual)})`,
      );
  }
  out.push('\n  metrics');
  const names = Object.keys(r.metrics);
  const width = Math.max(...names.map((n) => n.length), 10);
  for (const n of names) out.push(`    ${n.padEnd(width, '.')}: ${describe(n, r.metrics[n]!)}`);
  for (const e of r.errors) out.push(`  ! ${e}`);
  out.push(
    `\n  ${r.runError ? `✗ the run failed: ${r.runError}` : r.ok ? '✓ all thresholds passed' : '✗ some thresholds failed'}${r.aborted ? ' (the run was stopped early)' : ''}\n`,
  );
  return out.join('\n');
}
