/**
 * A durable work queue of jobs identified by id. Adapters: `SqlJobQueue`
 * (Postgres with `FOR UPDATE SKIP LOCKED`, or PGlite: the embedded default)
 * and `NatsJobQueue` (a JetStream work-queue stream with a durable pull
 * consumer). Both pass `jobQueueContract`.
 *
 * Contract:
 * - `enqueue` is durable when it resolves. An id the queue already knows
 *   (queued, running, done or dead) is dropped: enqueueing twice runs once.
 * - Each job is handed to one handler at a time. A handler that resolves
 *   completes the job. One that throws is retried after an exponential backoff
 *   (`backoffBaseMs · 2^(attempt-1)`, capped at `backoffMaxMs`); after
 *   `maxAttempts` attempts, or at once when the error has `retryable: false`,
 *   the job is dead: it is not run again unless `retry`ed, and `onDead` is
 *   called once (once more after each retry that dies again).
 * - A handler that outlives `leaseMs` without calling `progress` may be
 *   presumed crashed and the job handed to another worker (counted as an
 *   attempt), so handlers MUST be idempotent. `progress` renews the lease.
 * - `get` shows a job's state, attempts, progress and last error.
 * - `retry` re-queues a dead job (an operator's decision, e.g. after the
 *   outage that killed it): it becomes `queued` with `attempts` 0, its
 *   payload and `lastError` kept, and runs again on a consumer with a fresh
 *   budget of `maxAttempts` (`Job.attempt` starts at 1 again). It resolves
 *   true when this call re-queued it; false, changing nothing, when the id is
 *   unknown or the job is queued, running or done. It is a compare-and-set:
 *   of concurrent retries of one dead job exactly one re-queues it. A worker
 *   still running an attempt from before the retry cannot complete or fail
 *   the retried job.
 * - A finished job (done or dead) is remembered for `stateTtlMs` after its
 *   last change (default 7 days): `get` shows it and an enqueue of its id is
 *   dropped. After that the queue may forget it, so the table or bucket
 *   stays the size of a week's jobs instead of growing forever; an id
 *   enqueued again after that runs again.
 */
export interface JobQueue<P> {
  readonly kind: 'sql' | 'nats';
  enqueue(id: string, payload: P): Promise<void>;
  consume(handler: JobHandler<P>, options?: ConsumeOptions<P>): JobConsumer;
  get(id: string): Promise<JobState<P> | undefined>;
  /** Re-queues a dead job with its attempts reset; true when this call did, false otherwise (see the contract). */
  retry(id: string): Promise<boolean>;
  /** Stops every consumer started here (waiting for running handlers) and releases the queue's resources. */
  close(): Promise<void>;
}

export type JobStatus = 'queued' | 'running' | 'done' | 'dead';

export interface JobState<P> {
  id: string;
  payload: P;
  status: JobStatus;
  /** Attempts started so far. */
  attempts: number;
  stage: string | null;
  percent: number;
  /** The error of the latest failed attempt, kept after a later success. */
  lastError: string | null;
}

export interface Job<P> {
  readonly id: string;
  readonly payload: P;
  /** 1 on the first run. */
  readonly attempt: number;
  /** Records progress (visible through `get`) and renews the lease. */
  progress(stage: string, percent: number): Promise<void>;
}

export type JobHandler<P> = (job: Job<P>) => Promise<void>;

export interface ConsumeOptions<P> {
  /** Handlers running at once in this consumer (default 1). */
  concurrency?: number;
  /** Called once when a job goes dead, with the error of its last attempt. */
  onDead?: (job: Job<P>, error: unknown) => Promise<void>;
}

export interface JobConsumer {
  /** Takes no new jobs and resolves when the running handlers have finished. */
  stop(): Promise<void>;
}

export interface JobQueueOptions {
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long a running job is held before it is presumed abandoned. */
  leaseMs: number;
  /** How long a finished job (done, dead) stays readable and deduplicates its id. */
  stateTtlMs: number;
}

export const defaultJobQueueOptions: JobQueueOptions = {
  maxAttempts: 5,
  backoffBaseMs: 1_000,
  backoffMaxMs: 60_000,
  leaseMs: 60_000,
  stateTtlMs: 7 * 86_400_000,
};

/** Ids are safe as SQL keys, NATS message ids and KV keys alike. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export function assertJobId(id: string): void {
  if (!JOB_ID_PATTERN.test(id)) throw new Error(`job id must match ${JOB_ID_PATTERN}: ${JSON.stringify(id)}`);
}

/** The delay before attempt `attempt + 1`, after attempt `attempt` failed. */
export function backoffDelay(o: JobQueueOptions, attempt: number): number {
  return Math.min(o.backoffMaxMs, o.backoffBaseMs * 2 ** Math.max(0, attempt - 1));
}

/** True when an error says retrying cannot help (`retryable === false`, as on `ShutterError`). */
export function isPermanent(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === false;
}

export function errorText(err: unknown): string {
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 1000);
}
