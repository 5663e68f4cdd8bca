import { isValidStreamName, ShutterError } from '@shutter/protocol';
import type { TokenMinter } from '../auth/tokens.js';
import type { StreamPublisher } from '../streams/publisher.js';
import type { HttpRouter } from './router.js';
import type { HttpRequest } from './types.js';

export interface CoreRouteDeps {
  isReady: () => boolean;
  /** Present when development tokens are on. */
  minter: TokenMinter | undefined;
  publisher: StreamPublisher;
  /** Empty: the admin API is open to loopback callers only (development). */
  adminToken: string;
  nodeId: string;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

function parseJson(buf: Buffer): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch {
    throw new ShutterError('bad_request', 'the body must be JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ShutterError('bad_request', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

/**
 * The admin API's guard: `Authorization: Bearer <ADMIN_TOKEN>` when a token
 * is configured (`auth_failed` otherwise), else loopback callers only
 * (`forbidden`). Every `/v1/admin/…` route calls it first.
 */
export function checkAdmin(req: HttpRequest, adminToken: string): void {
  const auth = req.headers.authorization ?? '';
  if (adminToken) {
    if (auth !== `Bearer ${adminToken}`)
      throw new ShutterError('auth_failed', 'the admin API needs Authorization: Bearer <ADMIN_TOKEN>');
  } else if (!LOOPBACK.test(req.remoteAddress)) {
    throw new ShutterError('forbidden', 'without ADMIN_TOKEN the admin API answers loopback callers only');
  }
}

/** Health, readiness, development tokens and the admin publish API. */
export function mountCoreRoutes(router: HttpRouter, deps: CoreRouteDeps): void {
  router.on('GET', '/healthz', (_req, res) => res.json(200, { status: 'ok', node: deps.nodeId }));
  router.on('GET', '/readyz', (_req, res) =>
    deps.isReady() ? res.json(200, { status: 'ready' }) : res.json(503, { status: 'not_ready' }),
  );

  router.on('POST', '/v1/dev/token', async (req, res) => {
    if (!deps.minter)
      throw new ShutterError('not_found', 'development tokens are off (AUTH_DEV_TOKENS=false)');
    const body = parseJson(await req.readAll(4096));
    const user = body.user;
    const ttl = body.ttlSeconds ?? 3600;
    if (typeof user !== 'string') throw new ShutterError('bad_request', 'user must be a string');
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 86_400) {
      throw new ShutterError('bad_request', 'ttlSeconds must be an integer from 1 to 604800');
    }
    res.json(200, await deps.minter.mint(user, ttl));
  });

  router.on('POST', '/v1/admin/publish', async (req, res) => {
    checkAdmin(req, deps.adminToken);
    const body = parseJson(await req.readAll(64 * 1024));
    if (typeof body.stream !== 'string' || !isValidStreamName(body.stream)) {
      throw new ShutterError(
        'invalid_stream',
        'stream must follow the stream grammar (see docs/protocol.md)',
      );
    }
    if (!('data' in body)) throw new ShutterError('bad_request', 'data is required');
    res.json(200, await deps.publisher.publish(body.stream, body.data));
  });
}
