import { type AdminAccess, checkAdmin } from '../http/operator-access.js';
import type { MediaService } from './media-service.js';
import type { RouteSpec } from './routes.js';

export interface MediaAdminRoutesDeps {
  service: Pick<MediaService, 'retry'>;
  /** `config.auth`: the same guard as `/v1/admin/publish` (see http/operator-access.ts). */
  admin: AdminAccess;
}

/**
 * Operator routes of the media path, behind the admin API's guard:
 * `POST /v1/admin/media/:id/retry` re-queues the processing of an item whose
 * job died (`failed` with `media_processing_failed`) and answers 202 with its
 * status (now `processing`); `not_found`, or `conflict` for any other state.
 */
export function mediaAdminRoutes(deps: MediaAdminRoutesDeps): RouteSpec[] {
  return [
    {
      method: 'POST',
      pattern: '/v1/admin/media/:id/retry',
      handler: async (req, res) => {
        checkAdmin(req, deps.admin);
        res.json(202, await deps.service.retry(req.params.id ?? ''));
      },
    },
  ];
}
