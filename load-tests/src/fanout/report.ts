import type { Delivery, Throughput } from './phases.js';

/** What one target measured in one scenario (see fanout-bench.ts). */
export interface TargetResult {
  target: string;
  sockets: number;
  rss: { perIdleSocketBytes: number; perIdleSocketNoGcBytes: number; perSubscribedSocketBytes: number };
  idleServerCpuPerSecond: number;
  posts: Delivery;
  load: Throughput;
}

export interface Scenario {
  sockets: number;
  results: TargetResult[];
}

export interface Threshold {
  name: string;
  target: string;
  value: string;
  ok: boolean;
}

const kb = (b: number) => `${(b / 1024).toFixed(2)} KB`;
const k = (n: number) => `${(n / 1000).toFixed(0)} k`;

/** The targets of DESIGN.md "Targets" that this benchmark measures. */
export function thresholds(scenarios: Scenario[]): Threshold[] {
  const out: Threshold[] = [];
  for (const sc of scenarios) {
    const by = new Map(sc.results.map((r) => [r.target, r]));
    for (const engine of ['uws', 'ws'] as const) {
      const s = by.get(`shutter-${engine}`);
      const raw = by.get(`raw-${engine}`);
      if (!s) continue;
      if (raw) {
        const ratio = s.load.deliveriesPerServerCpuSecond / raw.load.deliveriesPerServerCpuSecond;
        out.push({
          name: `${sc.sockets} sockets, ${engine}: deliveries per server-CPU-second vs raw ${engine}`,
          target: '≥ 75 %',
          value: `${(ratio * 100).toFixed(0)} %`,
          ok: ratio >= 0.75,
        });
      }
      const limit = engine === 'uws' ? 2048 : 10 * 1024;
      out.push({
        name: `${sc.sockets} sockets, ${engine}: RSS per idle authenticated socket`,
        target: `≤ ${kb(limit)}`,
        value: kb(s.rss.perIdleSocketBytes),
        ok: s.rss.perIdleSocketBytes <= limit,
      });
      if (sc.sockets >= 10_000) {
        out.push({
          name: `${sc.sockets} sockets, ${engine}: post → every follower, p99`,
          target: '≤ 250 ms',
          value: `${s.posts.p99Ms.toFixed(0)} ms`,
          ok: s.posts.p99Ms <= 250,
        });
      }
    }
  }
  return out;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')).join('\n');
}

export function printSummary(
  scenarios: Scenario[],
  checks: { name: string; ok: boolean }[],
  th: Threshold[],
): void {
  const w = (s: string) => process.stderr.write(`${s}\n`);
  for (const sc of scenarios) {
    w(`\n■ ${sc.sockets} sockets`);
    w(
      table([
        [
          'target',
          'RSS/idle',
          'no GC',
          'RSS/sub',
          'idle CPU',
          'post p50',
          'post p99',
          'post max',
          'deliv/s',
          'deliv/CPU-s',
          'load p50',
          'load p99',
          'lost',
        ],
        ...sc.results.map((r) => [
          r.target,
          kb(r.rss.perIdleSocketBytes),
          kb(r.rss.perIdleSocketNoGcBytes),
          kb(r.rss.perSubscribedSocketBytes),
          `${(r.idleServerCpuPerSecond * 100).toFixed(1)} %`,
          `${r.posts.p50Ms.toFixed(1)} ms`,
          `${r.posts.p99Ms.toFixed(1)} ms`,
          `${r.posts.maxMs.toFixed(0)} ms`,
          k(r.load.deliveriesPerSecond),
          k(r.load.deliveriesPerServerCpuSecond),
          `${r.load.p50Ms.toFixed(1)} ms`,
          `${r.load.p99Ms.toFixed(1)} ms`,
          String(r.posts.expected - r.posts.received + r.load.expected - r.load.received),
        ]),
      ]),
    );
  }
  const failed = checks.filter((c) => !c.ok).length;
  w(`\nchecks: ${checks.length - failed}/${checks.length} passed`);
  w('thresholds:');
  for (const t of th) w(`  ${t.ok ? '✓' : '✗'} ${t.name}: ${t.value} (target ${t.target})`);
}
