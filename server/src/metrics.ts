import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { HttpRouter } from './http/router.js';

/**
 * Prometheus metrics. Components keep plain counters (cheap, no library on
 * hot paths); this module reads them at scrape time through `addSource`.
 * Counters are exposed as Prometheus counters, current values as gauges.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Re-read once per scrape, before the registry collects: one `read()` per source, not per field. */
  private readonly refreshers: (() => void)[] = [];

  constructor(nodeId: string) {
    this.registry.setDefaultLabels({ node: nodeId });
    collectDefaultMetrics({ register: this.registry, prefix: 'shutter_' });
  }

  /**
   * Exposes every numeric field of `read()` as `shutter_<prefix>_<field>`:
   * fields named in `gauges` as gauges, the rest as monotonically growing counters.
   */
  addSource(prefix: string, help: string, read: () => object, gauges: readonly string[] = []): void {
    let sample = read() as Record<string, unknown>;
    this.refreshers.push(() => {
      sample = read() as Record<string, unknown>;
    });
    for (const [field, value] of Object.entries(sample)) {
      if (typeof value !== 'number') continue;
      const name = `shutter_${prefix}_${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
      const get = () => {
        const v = sample[field];
        return typeof v === 'number' ? v : 0;
      };
      if (gauges.includes(field)) {
        new Gauge({
          name,
          help: `${help}: ${field}`,
          registers: [this.registry],
          collect() {
            this.set(get());
          },
        });
      } else {
        let last = 0;
        new Counter({
          name: `${name}_total`,
          help: `${help}: ${field}`,
          registers: [this.registry],
          collect() {
            const now = get();
            if (now > last) this.inc(now - last);
            last = now;
          },
        });
      }
    }
  }

  mount(router: HttpRouter): void {
    router.on('GET', '/metrics', async (_req, res) => {
      for (const refresh of this.refreshers) refresh();
      const body = await this.registry.metrics();
      res.status(200).header('content-type', this.registry.contentType).end(body);
    });
  }
}

/** Numeric fields of a stats object, one level of nesting flattened (`turnTime.p99` → `turnTimeP99`). */
export function flatNumbers(o: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number') out[k] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v)) {
        if (typeof v2 === 'number') out[`${k}${k2.charAt(0).toUpperCase()}${k2.slice(1)}`] = v2;
      }
    }
  }
  return out;
}
