import { isValidStreamName, ShutterError } from '@shutter/protocol';
import type { TokenMinter } from '../auth/tokens.js';
import type { StreamPublisher } from '../streams/publisher.js';
import { parseJsonObject } from './json-body.js';
import { type AdminAccess, checkAdmin } from './operator-access.js';
import type { HttpRouter } from './router.js';

export interface CoreRouteDeps {
  isReady: () => boolean;
  /** Present when development tokens are on. */
  minter: TokenMinter | undefined;
  publisher: StreamPublisher;
  /** `config.auth`: ADMIN_TOKEN and whether this is a development node (see operator-access.ts). */
  admin: AdminAccess;
  nodeId: string;
}

/** Health, readiness, development tokens and the admin publish API. */
export function mountCoreRoutes(router: HttpRouter, deps: CoreRouteDeps): void {
  router.on('GET', '/healthz', (_req, res) => res.json(200, { status: 'ok', node: deps.nodeId }));
  router.on('GET', '/readyz', (_req, res) =>
    deps.isReady() ? res.json(200, { status: 'ready' }) : res.json(503, { status: 'not_ready' }),
  );

  router.on('POST', '/v1/dev/token', async (req, res) => {
    if (!deps.minter)
      throw new ShutterError(
        'not_found',
        'development tokens are off (AUTH_DEV_TOKENS=false, a configured key, or production)',
      );
    const body = parseJsonObject(await req.readAll(4096));
    const user = body.user;
    const ttl = body.ttlSeconds ?? 3600;
    if (typeof user !== 'string') throw new ShutterError('bad_request', 'user must be a string');
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 7 * 86_400) {
      throw new ShutterError('bad_request', 'ttlSeconds must be an integer from 1 to 604800');
    }
    res.json(200, await deps.minter.mint(user, ttl));
  });

  router.on('POST', '/v1/admin/publish', async (req, res) => {
    checkAdmin(req, deps.admin);
    const body = parseJsonObject(await req.readAll(64 * 1024));
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

export { checkAdmin } from './operator-access.js';
