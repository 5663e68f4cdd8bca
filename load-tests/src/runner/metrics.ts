import { Hdr, type HdrData } from './hdr.js';

/**
 * k6's four metric types. A scenario declares nothing up front: the first
 * `counter('x')`, `gauge('x')`, `rate('x')` or `trend('x')` creates it.
 * Values are recorded into one window per second of the test; workers send
 * their windows to the runner, which adds them up (see aggregate.ts).
 */
export type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';

export type WindowValue =
  | { type: 'counter'; sum: number }
  | { type: 'gauge'; value: number }
  | { type: 'rate'; pass: number; total: number }
  | { type: 'trend'; hdr: HdrData };

export interface Window {
  /** Seconds since the test started (the runner's clock, shared by every process on this machine). */
  sec: number;
  metrics: Record<string, WindowValue>;
  /** Check name → [passes, fails]. */
  checks: Record<string, [number, number]>;
}

type Live =
  | { type: 'counter'; sum: number }
  | { type: 'gauge'; value: number }
  | { type: 'rate'; pass: number; total: number }
  | { type: 'trend'; hdr: Hdr };

export interface Counter {
  add(n?: number): void;
}
export interface Gauge {
  set(v: number): void;
  add(n: number): void;
}
export interface RateMetric {
  add(ok: boolean): void;
}
export interface Trend {
  add(v: number): void;
}

/** Records metrics and checks into per-second windows until `flush()` hands them over. */
export class Metrics {
  private windows = new Map<number, { metrics: Map<string, Live>; checks: Map<string, [number, number]> }>();
  private readonly types = new Map<string, MetricType>();
  private readonly gauges = new Map<string, number>();

  constructor(private readonly startedAt: () => number) {}

  private sec(): number {
    return Math.max(0, Math.floor((Date.now() - this.startedAt()) / 1000));
  }

  private window() {
    const s = this.sec();
    let w = this.windows.get(s);
    if (!w) {
      w = { metrics: new Map(), checks: new Map() };
      this.windows.set(s, w);
    }
    return w;
  }

  private declare(name: string, type: MetricType): void {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*(\{[a-zA-Z0-9_]+:[^{}]+\})?$/.test(name))
      throw new Error(`bad metric name "${name}" (letters, digits, _; optionally {tag:value})`);
    const had = this.types.get(name);
    if (had && had !== type) throw new Error(`metric ${name} is a ${had}, not a ${type}`);
    this.types.set(name, type);
  }

  private live<T extends Live['type']>(name: string, type: T): Extract<Live, { type: T }> {
    const w = this.window();
    let m = w.metrics.get(name);
    if (!m) {
      m =
        type === 'counter'
          ? { type, sum: 0 }
          : type === 'gauge'
            ? { type, value: 0 }
            : type === 'rate'
              ? { type, pass: 0, total: 0 }
              : { type: 'trend', hdr: new Hdr() };
      w.metrics.set(name, m);
    }
    return m as Extract<Live, { type: T }>;
  }

  counter(name: string): Counter {
    this.declare(name, 'counter');
    return {
      add: (n = 1) => {
        this.live(name, 'counter').sum += n;
      },
    };
  }

  /** A gauge holds a last value; the runner adds the last values of all workers (e.g. open sockets). */
  gauge(name: string): Gauge {
    this.declare(name, 'gauge');
    const set = (v: number) => {
      this.gauges.set(name, v);
      this.live(name, 'gauge').value = v;
    };
    return { set, add: (n) => set((this.gauges.get(name) ?? 0) + n) };
  }

  rate(name: string): RateMetric {
    this.declare(name, 'rate');
    return {
      add: (ok) => {
        const m = this.live(name, 'rate');
        m.total++;
        if (ok) m.pass++;
      },
    };
  }

  trend(name: string): Trend {
    this.declare(name, 'trend');
    return {
      add: (v) => this.live(name, 'trend').hdr.record(v),
    };
  }

  /** k6's `check`: counted per name and in the `checks` rate; returns `ok`. */
  check(name: string, ok: boolean): boolean {
    const w = this.window();
    const c = w.checks.get(name) ?? [0, 0];
    c[ok ? 0 : 1]++;
    w.checks.set(name, c);
    this.rate('checks').add(ok);
    return ok;
  }

  /** Hands over every window recorded since the last flush. */
  flush(): Window[] {
    const out: Window[] = [];
    for (const [sec, w] of [...this.windows].sort((a, b) => a[0] - b[0])) {
      const metrics: Record<string, WindowValue> = {};
      for (const [name, m] of w.metrics)
        metrics[name] = m.type === 'trend' ? { type: 'trend', hdr: m.hdr.data() } : { ...m };
      out.push({ sec, metrics, checks: Object.fromEntries(w.checks) });
    }
    this.windows = new Map();
    return out;
  }
}
