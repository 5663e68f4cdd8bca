// Media processing (records, jobs, pipeline, worker).

export { LocalBlobStore, type LocalBlobStoreOptions } from '../adapters/local-blob-store.js';
export { NatsJobQueue } from '../adapters/nats-job-queue.js';
export { S3BlobStore, type S3BlobStoreOptions } from '../adapters/s3-blob-store.js';
export { jobQueueMigrations, SqlJobQueue } from '../adapters/sql-job-queue.js';
// Object store and upload paths.
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
export { MEDIA_QUEUE, mediaProcessingMigrations, mediaProcessingOptions } from './processing/options.js';
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
