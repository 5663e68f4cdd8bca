/**
 * The job-queue port: durable work queues with retries, leases and a dead
 * state. Adapters: `SqlJobQueue` (embedded default, `FOR UPDATE SKIP
 * LOCKED`) and `NatsJobQueue` (a JetStream work queue) in
 * `server/src/adapters/`; `node.ts` chooses. `jobQueueContract` is the test
 * every adapter passes.
 */
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
