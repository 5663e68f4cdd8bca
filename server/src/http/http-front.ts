import { performance } from 'node:perf_hooks';
import { ShutterError } from '@shutter/protocol';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../log.js';
import type { HttpHandler } from './types.js';

export interface HttpFrontOptions {
  /** MAX_HTTP_REQUESTS: requests served at once; past it 503 over_capacity. */
  maxInFlight: number;
  /** HTTP_ACCESS_LOG: the level of the one line per request, or off. */
  accessLog: 'info' | 'debug' | 'off';
  log: Logger;
  registry: Registry;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Seconds; uploads of large files reach minutes. */
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * In front of every plain HTTP request, on both engines: a cap on requests in
 * flight (a slow client holds one until its body is done or times out), one
 * access-log line per request, and `shutter_http_*` metrics labelled by the
 * route pattern (`/v1/uploads/:id`, or `unmatched`), never the raw path, so
 * their number stays bounded. A request the client abandoned has status
 * `aborted`.
 */
export function httpFront(handler: HttpHandler, o: HttpFrontOptions): HttpHandler {
  let inFlight = 0;
  const duration = new Histogram({
    name: 'shutter_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status: count and time from request head to the end of the handler (body included)',
    labelNames: ['method', 'route', 'status'],
    buckets: BUCKETS,
    registers: [o.registry],
  });
  const refused = new Counter({
    name: 'shutter_http_over_capacity_total',
    help: 'HTTP requests answered 503 over_capacity because MAX_HTTP_REQUESTS were in flight',
    registers: [o.registry],
  });
  new Gauge({
    name: 'shutter_http_requests_in_flight',
    help: 'HTTP requests being served (bodies included)',
    registers: [o.registry],
    collect() {
      this.set(inFlight);
    },
  });
  const log = o.accessLog === 'off' ? undefined : o.log[o.accessLog].bind(o.log);

  return async (req, res) => {
    const t0 = performance.now();
    try {
      if (inFlight >= o.maxInFlight) {
        refused.inc();
        const err = new ShutterError('over_capacity', 'this node serves as many HTTP requests as it may', {
          retryAfterMs: 1000,
        });
        res
          .header('retry-after', '1')
          .json(503, { error: { code: err.code, message: err.message, retryAfterMs: 1000 } });
        return;
      }
      inFlight++;
      try {
        await handler(req, res);
      } finally {
        inFlight--;
      }
    } finally {
      const seconds = (performance.now() - t0) / 1000;
      const route = req.route ?? 'unmatched';
      const status = req.signal.aborted ? 'aborted' : String(res.statusCode);
      duration.observe({ method: METHODS.has(req.method) ? req.method : 'other', route, status }, seconds);
      log?.(
        {
          method: req.method,
          route,
          path: req.path,
          status,
          ms: Math.round(seconds * 10_000) / 10,
          remote: req.remoteAddress,
        },
        'http',
      );
    }
  };
}
