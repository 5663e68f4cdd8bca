import { isValidStreamName, ShutterError } from '@shutter/protocol';
import type { TokenMinter } from '../auth/tokens.js';
import type { BatchEvent, StreamBatchPublisher } from '../streams/publisher.js';
import { parseJsonObject } from './json-body.js';
import { type AdminAccess, checkAdmin } from './operator-access.js';
import type { HttpRouter } from './router.js';

export interface CoreRouteDeps {
  isReady: () => boolean;
  /** Present when development tokens are on. */
  minter: TokenMinter | undefined;
  publisher: StreamBatchPublisher;
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
    if ('events' in body) {
      // A batch: the events leave each subscriber's socket together (see publisher.ts).
      const events = body.events;
      if (!Array.isArray(events) || events.length < 1 || events.length > MAX_BATCH)
        throw new ShutterError('bad_request', `events must be an array of 1 to ${MAX_BATCH} events`);
      const batch = events.map((e: unknown, n) => batchEvent(e, `events[${n}]`));
      res.json(200, { events: await deps.publisher.publishBatch(batch) });
      return;
    }
    const one = batchEvent(body, '');
    res.json(200, await deps.publisher.publish(one.stream, one.data));
  });
}

/** Most events in one admin publish. */
const MAX_BATCH = 1000;

/** One event of the body (`at` ''), or of its batch (`at` 'events[n]'). */
function batchEvent(e: unknown, at: string): BatchEvent {
  if (typeof e !== 'object' || e === null || Array.isArray(e))
    throw new ShutterError('bad_request', `${at} must be an object {stream, data}`);
  const field = at ? `${at}.` : '';
  const { stream } = e as { stream?: unknown };
  if (typeof stream !== 'string' || !isValidStreamName(stream)) {
    throw new ShutterError(
      'invalid_stream',
      `${field}stream must follow the stream grammar (see docs/protocol.md)`,
    );
  }
  if (!('data' in e)) throw new ShutterError('bad_request', `${field}data is required`);
  return { stream, data: (e as { data: unknown }).data };
}

export { checkAdmin } from './operator-access.js';
