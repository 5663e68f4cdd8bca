import { jobQueueMigrations } from '../../adapters/sql-job-queue.js';
import type { Config } from '../../config/index.js';
import type { JobQueueOptions } from '../../jobs/job-queue.js';
import type { Migration } from '../../sql/index.js';
import { mediaMigrations } from '../media-records.js';
import type { ProcessingWorkerDeps } from './worker.js';

/** Queue name of media processing jobs (the JetStream stream, or the `queue` column). */
export const MEDIA_QUEUE = 'media_processing';

/** The queue and worker options the media settings ask for. */
export function mediaProcessingOptions(m: Config['media']): {
  queue: JobQueueOptions;
  worker: Pick<ProcessingWorkerDeps, 'concurrency' | 'maxInputBytes' | 'pipeline'>;
} {
  return {
    queue: {
      maxAttempts: m.jobMaxAttempts,
      backoffBaseMs: m.jobBackoffBaseMs,
      backoffMaxMs: m.jobBackoffMaxMs,
      leaseMs: m.jobLeaseMs,
    },
    worker: {
      concurrency: m.workerConcurrency,
      maxInputBytes: m.maxUploadBytes,
      pipeline: { maxInputPixels: m.maxInputPixels },
    },
  };
}

/** Every table media processing needs: media items and the SQL job queue. */
export const mediaProcessingMigrations: Migration[] = [...mediaMigrations, ...jobQueueMigrations];
