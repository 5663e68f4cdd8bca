import { HttpPushProvider } from './adapters/http-push-provider.js';
import { LogPushProvider } from './adapters/log-push-provider.js';
import { forgetDevice } from './capabilities/devices/device-rows.js';
import type { Config } from './config/index.js';
import type { HttpRouter } from './http/router.js';
import type { Logger } from './log.js';
import { mountRoutes } from './media/routes.js';
import type { Metrics } from './metrics.js';
import { pushAdminRoutes } from './push/admin-routes.js';
import type { PushProvider } from './push/provider.js';
import { PushWorker } from './push/push-worker.js';
import { SqlPushOutbox } from './push/sql-push-outbox.js';
import type { Databases } from './storage/databases.js';

const HOUR_MS = 3_600_000;

/** The node's push outbox (`ports.push`) and what starts its worker once the tables exist. */
export interface NodePush {
  outbox: SqlPushOutbox;
  /** Starts sending; resolves the closer that stops it. */
  start(): () => Promise<void>;
}

/**
 * Assembles push: the provider PUSH_PROVIDER names (the log by default,
 * or HTTP to PUSH_HTTP_URL), the outbox over every database, the worker
 * that drains it (woken at once by this node's enqueues), its metrics
 * (`shutter_push_*`) and the operators' routes (`/v1/admin/push/…`).
 */
export function openPush(
  config: Config,
  db: Databases,
  log: Logger,
  http: { router: HttpRouter; metrics: Metrics },
): NodePush {
  const p = config.push;
  const provider: PushProvider =
    p.provider === 'http'
      ? new HttpPushProvider({ url: p.httpUrl, token: p.httpToken || undefined, timeoutMs: p.httpTimeoutMs })
      : new LogPushProvider(log);
  const worker = new PushWorker(
    db,
    provider,
    { ...p, keepMs: p.keepHours * HOUR_MS, keepDeadMs: p.keepDeadHours * HOUR_MS },
    log,
    (userId, deviceId, token) => forgetDevice(db, userId, deviceId, token),
  );
  const outbox = new SqlPushOutbox(db, (sql, delayMs) => worker.wake(sql, delayMs));
  mountRoutes(http.router, pushAdminRoutes(outbox, config.auth));
  http.metrics.addSource('push', 'Push outbox on this node', () => worker.stats, ['inFlight', 'deadStored']);
  return {
    outbox,
    start() {
      worker.start();
      return () => worker.stop();
    },
  };
}
