import { ShutterError } from '@shutter/protocol';
import { Histogram, type Registry } from 'prom-client';
import { bearerAuthenticator } from '../auth/bearer.js';
import type { TokenVerifier } from '../auth/tokens.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Config } from '../config/index.js';
import type { HttpRouter } from '../http/router.js';
import type { JobQueue, JobQueueOptions } from '../jobs/index.js';
import type { Logger } from '../log.js';
import { migrate, type Sql } from '../sql/index.js';
import type { StreamPublisher } from '../streams/publisher.js';
import { mediaAdminRoutes } from './admin-routes.js';
import { mediaMigrations } from './media-records.js';
import { createMediaService, type MediaJob, type MediaService } from './media-service.js';
import { MEDIA_QUEUE, mediaProcessingOptions } from './processing/options.js';
import { startProcessingWorker } from './processing/worker.js';
import { mountRoutes } from './routes.js';
import { createUploadRoutes, uploadMigrations } from './uploads/index.js';

export interface MediaDeps {
  config: Config;
  sql: Sql;
  /** The object store the composition root chose. */
  blobs: BlobStore;
  /** Opens a named work queue on the backend the composition root chose (JetStream in a cluster, SQL otherwise). */
  openQueue: <P>(name: string, options: Partial<JobQueueOptions>) => Promise<JobQueue<P>>;
  publisher: StreamPublisher;
  verifier: TokenVerifier;
  router: HttpRouter;
  log: Logger;
  /** Where `shutter_media_processing_duration_seconds` is registered (the node's /metrics). */
  registry?: Registry;
}

export interface Media {
  service: MediaService;
  stop(): Promise<void>;
}

/**
 * The media path of one node: object store, upload routes and their sweeper,
 * the processing queue and this node's worker, `GET /v1/media/:id`, and the
 * operators' `POST /v1/admin/media/:id/retry`.
 */
export async function startMedia(deps: MediaDeps): Promise<Media> {
  const { config, sql, log } = deps;
  await migrate(sql, [...uploadMigrations, ...mediaMigrations]);
  const store = deps.blobs;
  const options = mediaProcessingOptions(config.media);
  const queue = await deps.openQueue<MediaJob>(MEDIA_QUEUE, options.queue);
  const service = createMediaService({ sql, blobs: store, queue, publisher: deps.publisher, log });
  const authenticate = bearerAuthenticator(deps.verifier);
  const uploads = createUploadRoutes({ sql, store, ingest: service, log, media: config.media, authenticate });
  uploads.mount(deps.router);
  deps.router.on('GET', '/v1/media/:id', async (req, res) => {
    const { userId } = await authenticate(req);
    const item = await service.get(req.params.id ?? '');
    if (!item || item.ownerId !== userId)
      throw new ShutterError('not_found', 'no media item with that id is yours');
    res.json(200, item);
  });
  mountRoutes(deps.router, mediaAdminRoutes({ service, admin: config.auth }));
  uploads.sweeper.start();
  const processing = deps.registry
    ? new Histogram({
        name: 'shutter_media_processing_duration_seconds',
        help: 'Runs of media processing jobs on this node (read, decode, resize, encode, store), by outcome',
        labelNames: ['outcome'],
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
        registers: [deps.registry],
      })
    : undefined;
  const worker = startProcessingWorker({
    sql,
    blobs: store,
    queue,
    publisher: deps.publisher,
    log,
    ...(processing ? { observe: (outcome, seconds) => processing.observe({ outcome }, seconds) } : {}),
    ...options.worker,
  });
  return {
    service,
    async stop() {
      await uploads.sweeper.stop();
      await worker.stop();
    },
  };
}
