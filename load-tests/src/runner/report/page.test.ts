import { describe, expect, it } from 'vitest';
import type { RunResult } from '../result.js';
import {
  BEGIN,
  END,
  generatedSections,
  latestRuns,
  type PageScenario,
  replaceGenerated,
  reproduce,
} from './page.js';
import { atLeast, atMost, type ReportSpec } from './page-spec.js';
import { renderPage } from './write-page.js';

function run(over: Partial<RunResult> & { startedAt: string; p99: number }): RunResult {
  const { p99, ...rest } = over;
  return {
    scenario: 'demo',
    description: 'a demo',
    command: 'npm run load -- demo',
    durationSec: 10,
    smoke: false,
    params: { n: 10, mode: 'a', fast: false },
    executor: { executor: 'none' },
    target: { url: 'ws://127.0.0.1:1/ws', nodes: 1, transport: 'uws', startedByRunner: true },
    machine: { cpu: 'Test CPU', cores: 2, node: 'v20', kernel: 'k', memoryGiB: 4 } as RunResult['machine'],
    loadAverage: { start: 0, end: 0 },
    metrics: {
      lat_ms: {
        type: 'trend',
        count: 5,
        avg: 1,
        min: 1,
        med: 40,
        max: 300,
        'p(90)': 1,
        'p(95)': 1,
        'p(99)': p99,
      },
      'ratio{engine:uws}': { type: 'gauge', value: 0.95, min: 0.95, max: 0.95 },
    },
    checks: [],
    thresholds: [],
    timeline: {},
    errors: [],
    aborted: false,
    runError: null,
    ok: true,
    ...rest,
  };
}

const spec: ReportSpec = {
  variant: ['mode'],
  columns: [
    { label: 'p99', metric: 'lat_ms', stat: 'p(99)', format: 'ms', target: () => atMost(250, '250 ms') },
    { label: 'missing', metric: 'absent', stat: 'count', format: 'count' },
  ],
};
const scenario: PageScenario = {
  name: 'demo',
  description: 'a demo',
  params: { n: 10, mode: 'a', fast: true },
  options: () => ({ executor: { executor: 'none' }, thresholds: {} }),
  report: spec,
};

describe('the performance page', () => {
  it('shows the latest full run of each configuration; smoke runs and runs that failed to run are left out', () => {
    const results = [
      run({ startedAt: '2026-12-01T10:00:00Z', p99: 100 }),
      run({ startedAt: '2026-12-02T10:00:00Z', p99: 120 }),
      run({ startedAt: '2026-12-03T10:00:00Z', p99: 1, smoke: true }),
      run({ startedAt: '2026-12-04T10:00:00Z', p99: 2, runError: 'node did not start' }),
      run({ startedAt: '2026-12-01T11:00:00Z', p99: 300, params: { n: 10, mode: 'b', fast: false } }),
      run({
        startedAt: '2026-12-01T12:00:00Z',
        p99: 90,
        target: { url: '', nodes: 3, transport: 'ws', startedByRunner: true },
      }),
      run({ startedAt: '2026-12-05T12:00:00Z', p99: 90, scenario: 'other' }),
    ];
    const picked = latestRuns(results, 'demo', spec);
    expect(picked.map((r) => [r.target.transport, r.params.mode, r.metrics.lat_ms && r.startedAt])).toEqual([
      ['uws', 'a', '2026-12-02T10:00:00Z'],
      ['uws', 'b', '2026-12-01T11:00:00Z'],
      ['ws', 'a', '2026-12-01T12:00:00Z'],
    ]);
    const page = generatedSections([scenario], results);
    expect(page).toContain('| uws, 1 node, mode a | 120 ms (≤ 250 ms ✓) | — | passed | 2026-12-02 10:00 |');
    expect(page).toContain('| uws, 1 node, mode b | 300 ms (≤ 250 ms ✗) | — | passed | 2026-12-01 11:00 |');
    expect(page).toContain('| ws, 3 nodes, mode a | 90.0 ms (≤ 250 ms ✓) |');
    expect(page).toContain('Machine: 2 × Test CPU, 4 GiB, Node v20.');
  });

  it('splits a run of several systems into rows and fills the metric names from each row', () => {
    const split: PageScenario = {
      ...scenario,
      report: {
        rows: () => [{ label: 'uWS', vars: { engine: 'uws' } }],
        columns: [
          {
            label: 'ratio',
            metric: 'ratio{engine:{engine}}',
            stat: 'value',
            format: 'ratio',
            target: () => atLeast(0.9, '0.90'),
          },
        ],
      },
    };
    const page = generatedSections([split], [run({ startedAt: '2026-12-01T10:00:00Z', p99: 1 })]);
    expect(page).toContain('| uws, 1 node, uWS | 0.95 (≥ 0.90 ✓) | passed |');
  });

  it('gives the command that repeats a run with today’s defaults (a switch the run lacked was off)', () => {
    const r = run({ startedAt: '2026-12-01T10:00:00Z', p99: 1, params: { n: 20, mode: 'a' } });
    expect(reproduce(scenario, r)).toBe('npm run load -- demo --n 20 --fast false');
    const three = run({
      startedAt: '2026-12-01T10:00:00Z',
      p99: 1,
      target: { url: '', nodes: 3, transport: 'uws', startedByRunner: true },
    });
    expect(reproduce(scenario, three)).toBe('npm run load -- demo --fast false --nodes 3');
  });

  it('replaces only the text between the markers, and refuses a page without them', () => {
    const page = `# P\nbefore\n${BEGIN}\nold\n${END}\nafter\n`;
    expect(replaceGenerated(page, 'new')).toBe(`# P\nbefore\n${BEGIN}\n\nnew\n\n${END}\nafter\n`);
    expect(() => replaceGenerated('# P\n', 'new')).toThrow(/markers/);
  });

  it('docs/performance.md says what the committed results say (npm run load:page)', () => {
    const { current, next } = renderPage();
    expect(current).toBe(next);
  });
});
