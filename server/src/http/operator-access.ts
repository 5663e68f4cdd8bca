import { createServer } from 'node:http';
import { ShutterError } from '@shutter/protocol';
import { bearerMatches } from '../auth/bearer.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { nodeHttpHandler } from './node-http.js';
import { HttpRouter } from './router.js';
import type { HttpRequest } from './types.js';

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** What decides who may call the admin API: `config.auth` after `loadConfig`. */
export interface AdminAccess {
  adminToken: string;
  /** Resolved by loadConfig: on only without a configured key and outside production. */
  devTokens: boolean;
}

/**
 * `token`: `Authorization: Bearer <ADMIN_TOKEN>`. `loopback`: no token, a
 * development node (dev tokens on): loopback callers only. `off`: no token on
 * a real deployment (a key configured, or production), where a reverse proxy
 * on the same host would make every caller loopback.
 */
export function adminMode(a: AdminAccess): 'token' | 'loopback' | 'off' {
  if (a.adminToken) return 'token';
  return a.devTokens ? 'loopback' : 'off';
}

/** The admin API's guard; every `/v1/admin/…` route calls it first. */
export function checkAdmin(req: HttpRequest, a: AdminAccess): void {
  switch (adminMode(a)) {
    case 'token':
      if (!bearerMatches(req.headers.authorization, a.adminToken))
        throw new ShutterError('auth_failed', 'the admin API needs Authorization: Bearer <ADMIN_TOKEN>');
      return;
    case 'loopback':
      if (!LOOPBACK.test(req.remoteAddress))
        throw new ShutterError(
          'forbidden',
          'without ADMIN_TOKEN the admin API answers loopback callers only',
        );
      return;
    case 'off':
      throw new ShutterError('not_found', 'the admin API is off: set ADMIN_TOKEN to use it');
  }
}

export interface MetricsEndpoint {
  /** Where /metrics is served: the public port, a separate listener, or nowhere. */
  readonly where: 'public' | 'listener' | 'off';
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` as METRICS_TOKEN / METRICS_LISTEN say: on a separate
 * plain-HTTP listener when METRICS_LISTEN is set, else on the public port
 * (behind the METRICS_TOKEN bearer when set), except in production without
 * either, where it is off.
 */
export async function mountMetrics(
  publicRouter: HttpRouter,
  metrics: Metrics,
  config: Config,
  log: Logger,
): Promise<MetricsEndpoint> {
  const { metricsToken, metricsListen } = config.auth;
  const inner = new HttpRouter(log, false);
  metrics.mount(inner);
  const guarded = (router: HttpRouter) =>
    router.on('GET', '/metrics', async (req, res) => {
      if (metricsToken && !bearerMatches(req.headers.authorization, metricsToken))
        throw new ShutterError('auth_failed', '/metrics needs Authorization: Bearer <METRICS_TOKEN>');
      await inner.handle(req, res);
    });

  if (metricsListen) {
    const sep = metricsListen.lastIndexOf(':');
    const host = metricsListen.slice(0, sep).replace(/^\[(.*)\]$/, '$1');
    const port = Number(metricsListen.slice(sep + 1));
    const router = guarded(new HttpRouter(log, false));
    const server = createServer(nodeHttpHandler((req, res) => router.handle(req, res)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return {
      where: 'listener',
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }
  if (config.services.env === 'production' && !metricsToken) return { where: 'off', close: async () => {} };
  guarded(publicRouter);
  return { where: 'public', close: async () => {} };
}

/**
 * Says at start, at warn level, what is open that a deployment may not want
 * open: development tokens, an admin API or /metrics that is off.
 */
export function announceOperatorAccess(
  log: Logger,
  config: Config,
  metrics: MetricsEndpoint,
  port: number,
): void {
  const a = config.auth;
  if (a.devTokens)
    log.warn(
      { devTokens: true, host: config.gateway.host, port },
      `DEVELOPMENT TOKENS ARE ON: POST /v1/dev/token on ${config.gateway.host}:${port} mints a token for any user. Set AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY for real tokens (development tokens then turn off), and NODE_ENV=production in production.`,
    );
  const admin = adminMode(a);
  if (admin === 'off')
    log.warn({ admin }, 'the admin API is off (/v1/admin/… answers 404): set ADMIN_TOKEN to use it.');
  if (metrics.where === 'off')
    log.warn(
      { metrics: 'off' },
      '/metrics is off on the public port in production: set METRICS_TOKEN or METRICS_LISTEN to scrape it.',
    );
  log.info(
    { admin, metrics: metrics.where, ...(a.metricsListen ? { metricsListen: a.metricsListen } : {}) },
    'operator endpoints',
  );
}
