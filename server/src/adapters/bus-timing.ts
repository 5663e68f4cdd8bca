import { performance } from 'node:perf_hooks';
import type { Bus } from '@shutter/actors';
import { Histogram, type Registry } from 'prom-client';

/**
 * Times every request/reply over `bus` (actor asks between nodes, shard
 * hand-off) into `shutter_bus_request_duration_seconds{outcome}`. Wraps the
 * instance's own `request`, so every holder of this bus is measured whatever
 * else the Bus interface grows; a local shard never crosses the bus and is
 * not counted.
 */
export function timeBusRequests(bus: Bus, registry: Registry): void {
  const h = new Histogram({
    name: 'shutter_bus_request_duration_seconds',
    help: 'Request/reply round trips over the message bus, by outcome (ok or error)',
    labelNames: ['outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const request = bus.request.bind(bus);
  bus.request = (subject, payload, options) => {
    const t0 = performance.now();
    const p = request(subject, payload, options);
    p.then(
      () => h.observe({ outcome: 'ok' }, (performance.now() - t0) / 1000),
      () => h.observe({ outcome: 'error' }, (performance.now() - t0) / 1000),
    );
    return p;
  };
}
