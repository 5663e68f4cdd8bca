import { Hdr } from './hdr.js';
import type { MetricType, Window } from './metrics.js';

/** One metric as the runner holds it: totals over the test and one point per second. */
export type Series =
  | { type: 'counter'; total: number; perSec: Map<number, number> }
  | {
      type: 'gauge';
      bySource: Map<string, number>;
      value: number;
      min: number;
      max: number;
      perSec: Map<number, number>;
    }
  | { type: 'rate'; pass: number; total: number; perSec: Map<number, [number, number]> }
  | { type: 'trend'; hdr: Hdr; perSec: Map<number, Hdr> };

/** Adds up the windows of every worker (and of the runner's own metrics). */
export class Aggregate {
  readonly metrics = new Map<string, Series>();
  readonly checks = new Map<string, [number, number]>();
  lastSec = 0;

  private get(name: string, type: MetricType): Series {
    let s = this.metrics.get(name);
    if (!s) {
      s =
        type === 'counter'
          ? { type, total: 0, perSec: new Map() }
          : type === 'gauge'
            ? {
                type,
                bySource: new Map(),
                value: 0,
                min: Number.POSITIVE_INFINITY,
                max: Number.NEGATIVE_INFINITY,
                perSec: new Map(),
              }
            : type === 'rate'
              ? { type, pass: 0, total: 0, perSec: new Map() }
              : { type, hdr: new Hdr(), perSec: new Map() };
      this.metrics.set(name, s);
    }
    if (s.type !== type)
      throw new Error(`metric ${name} is a ${s.type} in one process and a ${type} in another`);
    return s;
  }

  add(source: string, windows: Window[]): void {
    for (const w of windows) {
      this.lastSec = Math.max(this.lastSec, w.sec);
      for (const [name, v] of Object.entries(w.metrics)) {
        const s = this.get(name, v.type);
        if (s.type === 'counter' && v.type === 'counter') {
          s.total += v.sum;
          s.perSec.set(w.sec, (s.perSec.get(w.sec) ?? 0) + v.sum);
        } else if (s.type === 'gauge' && v.type === 'gauge') {
          s.bySource.set(source, v.value);
          s.value = [...s.bySource.values()].reduce((a, b) => a + b, 0);
          s.min = Math.min(s.min, s.value);
          s.max = Math.max(s.max, s.value);
          s.perSec.set(w.sec, s.value);
        } else if (s.type === 'rate' && v.type === 'rate') {
          s.pass += v.pass;
          s.total += v.total;
          const p = s.perSec.get(w.sec) ?? [0, 0];
          s.perSec.set(w.sec, [p[0] + v.pass, p[1] + v.total]);
        } else if (s.type === 'trend' && v.type === 'trend') {
          s.hdr.merge(v.hdr);
          let h = s.perSec.get(w.sec);
          if (!h) {
            h = new Hdr();
            s.perSec.set(w.sec, h);
          }
          h.merge(v.hdr);
        }
      }
      for (const [name, [p, f]] of Object.entries(w.checks)) {
        const c = this.checks.get(name) ?? [0, 0];
        this.checks.set(name, [c[0] + p, c[1] + f]);
      }
    }
  }

  /** The current total of a counter (0 if none yet). */
  counter(name: string): number {
    const s = this.metrics.get(name);
    return s?.type === 'counter' ? s.total : 0;
  }

  /** The current value of a gauge (sum over sources; 0 if none yet). */
  gauge(name: string): number {
    const s = this.metrics.get(name);
    return s?.type === 'gauge' ? s.value : 0;
  }
}
