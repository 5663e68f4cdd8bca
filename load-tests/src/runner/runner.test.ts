import { describe, expect, it } from 'vitest';
import { Aggregate } from './aggregate.js';
import { parseDuration } from './duration.js';
import { rampTarget, runExecutor } from './executors.js';
import { Hdr } from './hdr.js';
import { Metrics } from './metrics.js';
import { summarize } from './summary.js';
import { evaluate, parseThreshold, parseThresholds, percentilesOf } from './thresholds.js';

describe('durations', () => {
  it('reads k6 durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('2')).toBe(2000);
    expect(() => parseDuration('30 seconds')).toThrow(/bad duration/);
  });
});

describe('Hdr', () => {
  it('keeps quantiles within 2 % and exact count, min, max', () => {
    const h = new Hdr();
    for (let i = 1; i <= 10_000; i++) h.record(i / 10);
    expect(h.count).toBe(10_000);
    expect(h.min).toBe(0.1);
    expect(h.max).toBe(1000);
    for (const q of [0.5, 0.9, 0.99]) {
      const want = q * 1000;
      expect(Math.abs(h.quantile(q) - want) / want).toBeLessThanOrEqual(0.02);
    }
  });

  it('merges what another process recorded', () => {
    const a = new Hdr();
    const b = new Hdr();
    for (let i = 0; i < 100; i++) a.record(10);
    for (let i = 0; i < 100; i++) b.record(1000);
    a.merge(b.data());
    expect(a.count).toBe(200);
    expect(a.quantile(0.25)).toBeCloseTo(10, 0);
    expect(a.quantile(0.75)).toBeGreaterThan(980);
  });
});

describe('thresholds', () => {
  it('parses the k6 expressions', () => {
    expect(parseThreshold('x', 'p(99)<250')).toMatchObject({ percentile: 99, op: '<', value: 250 });
    expect(parseThreshold('x', 'p(99.9) <= 1e3')).toMatchObject({ percentile: 99.9, op: '<=', value: 1000 });
    expect(parseThreshold('x', 'rate<0.01')).toMatchObject({ aggregation: 'rate', op: '<', value: 0.01 });
    expect(parseThreshold('x', 'count>0')).toMatchObject({ aggregation: 'count', op: '>', value: 0 });
    expect(() => parseThreshold('x', 'p99<250')).toThrow(/use e.g./);
    expect(() => parseThreshold('x', 'p(101)<1')).toThrow(/between 0 and 100/);
  });

  it('judges the summary of workers added together; an unrecorded metric fails', () => {
    const t0 = Date.now();
    const w1 = new Metrics(() => t0);
    const w2 = new Metrics(() => t0);
    for (let i = 0; i < 99; i++) w1.trend('feed_delivery_ms').add(100);
    w2.trend('feed_delivery_ms').add(900);
    w1.counter('sent').add(3);
    w2.counter('sent').add(4);
    w1.rate('errors').add(false);
    w2.rate('errors').add(true);
    w1.gauge('open').set(5);
    w2.gauge('open').set(7);
    w1.check('ok', true);
    w2.check('ok', false);
    const agg = new Aggregate();
    agg.add('w1', w1.flush());
    agg.add('w2', w2.flush());
    const ts = parseThresholds({
      feed_delivery_ms: ['p(99)<250', 'p(50)<250', 'max<1000'],
      sent: ['count==7'],
      errors: ['rate<0.01'],
      open: ['value==12'],
      checks: ['rate==1'],
      never_recorded: ['count==0'],
    });
    const r = evaluate(ts, summarize(agg, 10, percentilesOf(ts)));
    expect(r.map((x) => [x.metric, x.source, x.ok])).toEqual([
      ['feed_delivery_ms', 'p(99)<250', true],
      ['feed_delivery_ms', 'p(50)<250', true],
      ['feed_delivery_ms', 'max<1000', true],
      ['sent', 'count==7', true],
      ['errors', 'rate<0.01', false],
      ['open', 'value==12', true],
      ['checks', 'rate==1', false],
      ['never_recorded', 'count==0', false],
    ]);
    expect(agg.checks.get('ok')).toEqual([1, 1]);
  });

  it('refuses an aggregation the metric type does not have', () => {
    const m = new Metrics(() => Date.now());
    m.counter('c').add();
    const agg = new Aggregate();
    agg.add('w', m.flush());
    expect(() => evaluate(parseThresholds({ c: ['p(99)<1'] }), summarize(agg, 1, [99]))).toThrow(
      /no p\(99\)/,
    );
  });
});

describe('ramping-vus', () => {
  it('moves linearly through its stages', () => {
    const e = {
      executor: 'ramping-vus' as const,
      stages: [
        { duration: '10s', target: 100 },
        { duration: '10s', target: 100 },
        { duration: '10s', target: 0 },
      ],
    };
    expect(rampTarget(e, 0)).toBe(0);
    expect(rampTarget(e, 5000)).toBe(50);
    expect(rampTarget(e, 15_000)).toBe(100);
    expect(rampTarget(e, 25_000)).toBe(50);
    expect(rampTarget(e, 40_000)).toBe(0);
  });
});

describe('runExecutor', () => {
  const hooks = (iterMs: number) => {
    const seen = {
      iterations: new Map<number, number>(),
      stopped: new Set<number>(),
      dropped: 0,
      maxActive: 0,
    };
    return {
      seen,
      h: {
        iterate: async (id: number) => {
          seen.iterations.set(id, (seen.iterations.get(id) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, iterMs));
        },
        stopVu: async (id: number) => {
          seen.stopped.add(id);
        },
        abortAll: () => undefined,
        isStopped: () => false,
        dropped: () => {
          seen.dropped++;
        },
        setActive: (n: number) => {
          seen.maxActive = Math.max(seen.maxActive, n);
        },
      },
    };
  };

  it('per-vu-iterations: each of this worker’s VUs (dealt round-robin) runs its iterations', async () => {
    const { seen, h } = hooks(1);
    await runExecutor(
      { executor: 'per-vu-iterations', vus: 5, iterations: 3, maxDuration: '5s' },
      { worker: 1, workers: 2, startAt: Date.now() },
      h,
    );
    expect([...seen.iterations]).toEqual([
      [2, 3],
      [4, 3],
    ]);
    expect([...seen.stopped].sort()).toEqual([2, 4]);
  });

  it('constant-arrival-rate starts iterations on schedule and drops them when no VU is free', async () => {
    const { seen, h } = hooks(300);
    await runExecutor(
      { executor: 'constant-arrival-rate', rate: 20, duration: '500ms', preAllocatedVUs: 1, maxVUs: 2 },
      { worker: 0, workers: 1, startAt: Date.now() },
      h,
    );
    const started = [...seen.iterations.values()].reduce((a, b) => a + b, 0);
    // 10 arrivals in 500 ms; two VUs busy for 300 ms each can take only some of them.
    expect(started + seen.dropped).toBe(10);
    expect(seen.dropped).toBeGreaterThan(0);
    expect(seen.maxActive).toBe(2);
  });
});
