import type { RunResult } from '../result.js';
import type { Point } from '../summary.js';
import { formatValue } from './text.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

/** One inline SVG line chart: several series over seconds since start. */
function chart(
  title: string,
  unitName: string,
  series: { label: string; pts: { t: number; v: number }[] }[],
): string {
  const W = 720;
  const H = 220;
  const L = 70;
  const B = 30;
  const all = series.flatMap((s) => s.pts).filter((p) => Number.isFinite(p.v));
  if (all.length === 0) return '';
  const tMax = Math.max(1, ...all.map((p) => p.t));
  const vMax = Math.max(...all.map((p) => p.v)) * 1.1 || 1;
  const x = (t: number) => L + (t / tMax) * (W - L - 10);
  const y = (v: number) => H - B - (v / vMax) * (H - B - 10);
  const lines = series
    .map((s, i) => {
      const d = s.pts
        .filter((p) => Number.isFinite(p.v))
        .map((p, j) => `${j ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`)
        .join(' ');
      return `<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5"/>`;
    })
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const v = vMax * f;
      return `<line x1="${L}" x2="${W - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${esc(formatValue(unitName, v))}</text>`;
    })
    .join('');
  const tTicks = [0, 0.5, 1]
    .map(
      (f) => `<text x="${x(tMax * f)}" y="${H - 10}" text-anchor="middle">${Math.round(tMax * f)} s</text>`,
    )
    .join('');
  const legend = series
    .map((s, i) => `<span style="color:${COLORS[i % COLORS.length]}">■ ${esc(s.label)}</span>`)
    .join(' ');
  return `<figure><figcaption>${esc(title)} ${legend}</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-size="11" font-family="sans-serif">${ticks}${tTicks}${lines}</svg></figure>`;
}

function charts(r: RunResult): string {
  const out: string[] = [];
  for (const [name, pts] of Object.entries(r.timeline)) {
    const s = r.metrics[name];
    // A value set once (a gauge the runner measured at one moment) is in the tables, not a chart.
    if (!s || pts.length < 2) continue;
    if (s.type === 'trend') {
      const q = (k: 'p50' | 'p95' | 'p99' | 'max') =>
        pts.map((p: Point) => ({ t: p.t, v: p.q?.[k] ?? Number.NaN }));
      out.push(
        chart(`${name} per second`, name, [
          { label: 'p50', pts: q('p50') },
          { label: 'p95', pts: q('p95') },
          { label: 'p99', pts: q('p99') },
        ]),
      );
      if (name !== 'iteration_duration')
        out.push(
          chart(`${name}: samples per second`, '', [
            { label: 'count', pts: pts.map((p) => ({ t: p.t, v: p.q?.count ?? 0 })) },
          ]),
        );
    } else if (s.type === 'counter') out.push(chart(`${name} per second`, '', [{ label: name, pts }]));
    else if (s.type === 'gauge') out.push(chart(`${name}`, name, [{ label: name, pts }]));
    else out.push(chart(`${name} (rate per second)`, '', [{ label: name, pts }]));
  }
  return out.join('\n');
}

/** A self-contained HTML report: summary tables and inline SVG charts (no scripts, no CDN). */
export function htmlReport(r: RunResult): string {
  const rows = (cells: string[][]) =>
    cells.map((c) => `<tr>${c.map((x) => `<td>${x}</td>`).join('')}</tr>`).join('');
  const metricRows = Object.entries(r.metrics).map(([n, s]) => {
    const f = (v: number) => esc(formatValue(n, v));
    const v =
      s.type === 'counter'
        ? `${s.count} (${s.rate.toFixed(2)}/s)`
        : s.type === 'gauge'
          ? `${f(s.value)} (min ${f(s.min)}, max ${f(s.max)})`
          : s.type === 'rate'
            ? `${(s.rate * 100).toFixed(2)} % (✓ ${s.passes}, ✗ ${s.fails})`
            : `avg ${f(s.avg)}, med ${f(s.med)}, p(90) ${f(s['p(90)'])}, p(95) ${f(s['p(95)'])}, p(99) ${f(s['p(99)'])}, max ${f(s.max)} (${s.count})`;
    return [esc(n), s.type, v];
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.scenario)} — Shutter load test</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:64rem;color:#111}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left;font-size:.9rem}
.ok{color:#16a34a}.bad{color:#dc2626}figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.3rem}
code{background:#f3f4f6;padding:0 .2rem}
</style></head><body>
<h1>${esc(r.scenario)}${r.smoke ? ' (smoke)' : ''} <span class="${r.ok ? 'ok' : 'bad'}">${r.ok ? '✓ passed' : '✗ failed'}</span></h1>
<p>${esc(r.description)}</p>
<p><code>${esc(r.command)}</code><br>${esc(r.startedAt)}, ${r.durationSec.toFixed(1)} s; target ${esc(r.target.url)} (${esc(r.target.transport)}${r.target.startedByRunner ? ', started by the runner' : ''});
${r.machine.cores} × ${esc(r.machine.cpu)}, Node ${esc(r.machine.node)}; load average ${r.loadAverage.start.toFixed(2)} → ${r.loadAverage.end.toFixed(2)}</p>
<h2>Thresholds</h2>
<table><tr><th></th><th>metric</th><th>threshold</th><th>actual</th></tr>${rows(
    r.thresholds.map((t) => [
      `<span class="${t.ok ? 'ok' : 'bad'}">${t.ok ? '✓' : '✗'}</span>`,
      esc(t.metric),
      esc(t.threshold),
      esc(formatValue(t.metric, t.actual)),
    ]),
  )}</table>
<h2>Checks</h2>
<table><tr><th></th><th>check</th><th>passed</th><th>failed</th></tr>${rows(
    r.checks.map((c) => [
      `<span class="${c.fails ? 'bad' : 'ok'}">${c.fails ? '✗' : '✓'}</span>`,
      esc(c.name),
      String(c.passes),
      String(c.fails),
    ]),
  )}</table>
<h2>Metrics</h2>
<table><tr><th>metric</th><th>type</th><th>value</th></tr>${rows(metricRows)}</table>
${r.errors.length ? `<h2>Errors</h2><ul>${r.errors.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>` : ''}
<h2>Over time</h2>
${charts(r)}
<h2>Parameters</h2>
<pre>${esc(JSON.stringify({ params: r.params, executor: r.executor }, null, 2))}</pre>
</body></html>
`;
}
