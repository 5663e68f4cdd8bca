import type { BlobStore } from '../../blobs/blob-store.js';
import type { Config } from '../../config/index.js';
import type { HttpRouter } from '../../http/router.js';
import type { HttpRequest } from '../../http/types.js';
import type { Logger } from '../../log.js';
import type { Sql } from '../../sql/index.js';
import type { MediaIngest } from '../ingest.js';
import { mountRoutes, type RouteSpec } from '../routes.js';
import { UploadSweeper } from './sweeper.js';
import { type UploadLimits, uploadLimitsFrom } from './upload-limits.js';
import { UploadRepo } from './upload-repo.js';
import { createUploadHttpRoutes } from './upload-routes.js';
import { UploadService } from './upload-service.js';

export interface UploadRoutesDeps {
  /** Run `migrate(sql, uploadMigrations)` first. */
  sql: Sql;
  store: BlobStore;
  ingest: MediaIngest;
  log: Logger;
  media: Config['media'];
  /** Verifies `Authorization: Bearer <jwt>` (the gateway's verifier). */
  authenticate(req: HttpRequest): Promise<{ userId: string }>;
  /** Overrides of the limits `media` gives (tests). */
  limits?: Partial<UploadLimits>;
  now?: () => number;
}

export interface UploadRoutes {
  /** /v1/uploads/… (a local store's /media/<key> routes are mounted by whoever chose that store). */
  routes: RouteSpec[];
  mount(router: HttpRouter): void;
  service: UploadService;
  /** Start it on every node (`start()`), stop it on shutdown (`await stop()`). */
  sweeper: UploadSweeper;
}

/** Everything the upload paths need, wired; the composition root mounts the routes and starts the sweeper. */
export function createUploadRoutes(deps: UploadRoutesDeps): UploadRoutes {
  const repo = new UploadRepo(deps.sql);
  const limits = { ...uploadLimitsFrom(deps.media), ...deps.limits };
  const service = new UploadService({
    store: deps.store,
    repo,
    ingest: deps.ingest,
    log: deps.log,
    limits,
    ...(deps.now ? { now: deps.now } : {}),
  });
  const routes = createUploadHttpRoutes({
    service,
    log: deps.log,
    authenticate: deps.authenticate,
    ...(deps.media.publicUrl ? { publicUrl: deps.media.publicUrl } : {}),
  });
  const sweeper = new UploadSweeper(service, repo, deps.log, { intervalMs: deps.media.sweepIntervalMs });
  return { routes, mount: (router) => mountRoutes(router, routes), service, sweeper };
}

export { UploadSweeper } from './sweeper.js';
export { DEFAULT_ACCEPTED_TYPES, type UploadLimits, uploadLimitsFrom } from './upload-limits.js';
export { type UploadRecord, UploadRepo, type UploadStatus, uploadMigrations } from './upload-repo.js';
export type { UploadView } from './upload-rules.js';
export { UploadService } from './upload-service.js';
