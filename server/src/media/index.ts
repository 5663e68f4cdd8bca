import { jobQueueMigrations } from '../adapters/sql-job-queue.js';
import type { Migration } from '../sql/index.js';
import { mediaMigrations } from './media-records.js';

// The media path (records, uploads, processing, serving), with the ports it uses and their adapters.
export { LocalBlobStore, type LocalBlobStoreOptions } from '../adapters/local-blob-store.js';
export { NatsJobQueue } from '../adapters/nats-job-queue.js';
export { S3BlobStore, type S3BlobStoreOptions } from '../adapters/s3-blob-store.js';
export { jobQueueMigrations, SqlJobQueue } from '../adapters/sql-job-queue.js';
export type {
  BlobInfo,
  BlobObject,
  BlobPutMeta,
  BlobStore,
  ByteRange,
  CompletedPart,
  PresignedRequest,
} from '../blobs/blob-store.js';
export type { Job, JobQueue, JobQueueOptions, JobState } from '../jobs/index.js';
export { type MediaEvent, type MediaStage, mediaStream } from './events.js';
export type { MediaIngest } from './ingest.js';
export {
  type MediaItem,
  MediaRecords,
  type MediaStatus,
  type MediaVariant,
  mediaMigrations,
} from './media-records.js';
export {
  createMediaService,
  type MediaBlobs,
  type MediaJob,
  type MediaService,
  type MediaServiceDeps,
  type MediaStatusView,
} from './media-service.js';
export { MediaRefused, type RefusalCode } from './processing/errors.js';
export { MEDIA_QUEUE, mediaProcessingOptions } from './processing/options.js';

export { defaultPipelineOptions, type PipelineOptions, processImage } from './processing/pipeline.js';
export { ACCEPTED_TYPES, type SniffedType, sniff } from './processing/sniff.js';
export {
  type ProcessingWorker,
  type ProcessingWorkerDeps,
  startProcessingWorker,
} from './processing/worker.js';
export { mountRoutes, type RouteSpec } from './routes.js';
export { createMediaRoutes, type MediaRoutesOptions } from './serve/media-routes.js';
export {
  createUploadRoutes,
  type UploadLimits,
  type UploadRoutes,
  type UploadRoutesDeps,
  uploadMigrations,
} from './uploads/index.js';

/** For harnesses that run media on the SQL queue: media items and the job table (a node migrates each where it chose it). */
export const mediaProcessingMigrations: Migration[] = [...mediaMigrations, ...jobQueueMigrations];
