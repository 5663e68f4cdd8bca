import type { NatsConnection } from '@nats-io/transport-node';
import type { Sql } from '../../sql/index.js';
import type { JobQueue, JobQueueOptions } from './job-queue.js';
import { NatsJobQueue } from './nats-job-queue.js';
import { SqlJobQueue } from './sql-job-queue.js';

export type {
  Job,
  JobConsumer,
  JobHandler,
  JobQueue,
  JobQueueOptions,
  JobState,
  JobStatus,
} from './job-queue.js';
export { defaultJobQueueOptions } from './job-queue.js';
export { NatsJobQueue, type NatsJobQueueOptions } from './nats-job-queue.js';
export { jobQueueMigrations, SqlJobQueue, type SqlJobQueueOptions } from './sql-job-queue.js';

export type JobQueueBackend = { kind: 'sql'; sql: Sql } | { kind: 'nats'; nc: NatsConnection };

/**
 * Opens a named queue on the chosen backend: JetStream in a cluster, the
 * relational store (Postgres or PGlite; run `jobQueueMigrations` first) in
 * the embedded default.
 */
export async function createJobQueue<P>(
  backend: JobQueueBackend,
  name: string,
  options: Partial<JobQueueOptions> = {},
): Promise<JobQueue<P>> {
  return backend.kind === 'sql'
    ? new SqlJobQueue<P>(backend.sql, name, options)
    : NatsJobQueue.open<P>(backend.nc, name, options);
}
