import type { Config } from '../../config/index.js';
import { defaultJobQueueOptions, type JobQueueOptions } from '../../jobs/job-queue.js';
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
      stateTtlMs: defaultJobQueueOptions.stateTtlMs,
    },
    worker: {
      concurrency: m.workerConcurrency,
      maxInputBytes: m.maxUploadBytes,
      pipeline: { maxInputPixels: m.maxInputPixels },
    },
  };
}
