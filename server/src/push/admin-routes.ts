import { ShutterError } from '@shutter/protocol';
import { parseJsonObject } from '../http/json-body.js';
import { type AdminAccess, checkAdmin } from '../http/operator-access.js';
import type { RouteSpec } from '../media/routes.js';
import type { SqlPushOutbox } from './sql-push-outbox.js';

/** Most dead pushes one listing answers, and notifications one retry names. */
const MAX_LIST = 500;
const MAX_RETRY = 1000;

/**
 * Operator routes of the push outbox, behind the admin API's guard (see
 * http/operator-access.ts): `GET /v1/admin/push/dead?limit=N` lists the
 * newest dead pushes of every database; `POST /v1/admin/push/retry` with
 * `{"notificationIds":[…]}` makes their dead pushes pending again with a
 * fresh budget of attempts (after the outage that killed them).
 */
export function pushAdminRoutes(outbox: SqlPushOutbox, admin: AdminAccess): RouteSpec[] {
  return [
    {
      method: 'GET',
      pattern: '/v1/admin/push/dead',
      handler: async (req, res) => {
        checkAdmin(req, admin);
        const raw = req.query.get('limit') ?? '100';
        const limit = Number(raw);
        if (!/^\d+$/.test(raw) || limit < 1 || limit > MAX_LIST)
          throw new ShutterError('bad_request', `limit must be an integer from 1 to ${MAX_LIST}`);
        res.json(200, { items: await outbox.dead(limit) });
      },
    },
    {
      method: 'POST',
      pattern: '/v1/admin/push/retry',
      handler: async (req, res) => {
        checkAdmin(req, admin);
        const ids = parseJsonObject(await req.readAll(256 * 1024)).notificationIds;
        if (
          !Array.isArray(ids) ||
          ids.length < 1 ||
          ids.length > MAX_RETRY ||
          !ids.every((x) => typeof x === 'string' && x.length >= 1 && x.length <= 128)
        )
          throw new ShutterError(
            'bad_request',
            `notificationIds must be an array of 1 to ${MAX_RETRY} strings of 1 to 128 characters`,
          );
        res.json(200, { requeued: await outbox.retryDead(ids as string[]) });
      },
    },
  ];
}
