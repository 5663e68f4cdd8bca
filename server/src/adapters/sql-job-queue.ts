import {
  assertJobId,
  backoffDelay,
  type ConsumeOptions,
  defaultJobQueueOptions,
  errorText,
  isPermanent,
  type Job,
  type JobConsumer,
  type JobHandler,
  type JobQueue,
  type JobQueueOptions,
  type JobState,
  type JobStatus,
} from '../jobs/job-queue.js';
import type { Migration, Sql } from '../sql/index.js';

/** The table behind every `SqlJobQueue`; one row per job, many queues by name. */
export const jobQueueMigrations: Migration[] = [
  {
    id: 'jobs_001_queue',
    sql: `CREATE TABLE job_queue (
      queue text NOT NULL,
      id text NOT NULL,
      payload jsonb NOT NULL,
      status text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'dead')),
      attempts int NOT NULL DEFAULT 0,
      max_attempts int NOT NULL,
      run_at timestamptz NOT NULL DEFAULT now(),
      locked_until timestamptz,
      stage text,
      percent int NOT NULL DEFAULT 0,
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (queue, id)
    )`,
  },
  // One statement per migration: PGlite runs each as a prepared statement.
  {
    id: 'jobs_002_due',
    sql: `CREATE INDEX job_queue_due ON job_queue (queue, run_at) WHERE status IN ('queued', 'running')`,
  },
  // Times the job was retried after going dead: with the attempt number, it fences writes of older workers.
  { id: 'jobs_003_retries', sql: 'ALTER TABLE job_queue ADD COLUMN retries int NOT NULL DEFAULT 0' },
  // Finished jobs by age, for the sweep that forgets them after `stateTtlMs`.
  {
    id: 'jobs_004_finished',
    sql: `CREATE INDEX job_queue_finished ON job_queue (queue, updated_at) WHERE status IN ('done', 'dead')`,
  },
];

/** Rows one sweep statement deletes at most, so a large backlog never makes one long statement. */
const SWEEP_BATCH = 1000;

interface Row extends Record<string, unknown> {
  id: string;
  payload: unknown;
  status: JobStatus;
  attempts: number;
  max_attempts: number;
  retries: number;
  stage: string | null;
  percent: number;
  last_error: string | null;
}

export interface SqlJobQueueOptions extends JobQueueOptions {
  /** How often an idle consumer looks for due jobs enqueued by other nodes or due after a backoff. */
  pollMs: number;
}

/**
 * `JobQueue` over the `Sql` port. A claim is one statement (`UPDATE … WHERE id
 * IN (SELECT … FOR UPDATE SKIP LOCKED)`), so no transaction stays open while
 * a handler runs: on PGlite, one connection, that would stall every caller.
 * The attempt number and the retry count fence writes: a worker whose lease
 * expired and whose job was claimed again (or went dead and was retried)
 * cannot complete or fail it.
 */
export class SqlJobQueue<P> implements JobQueue<P> {
  readonly kind = 'sql' as const;
  private readonly o: SqlJobQueueOptions;
  private readonly consumers = new Set<SqlConsumer<P>>();
  private nextSweepAt = 0;

  constructor(
    private readonly sql: Sql,
    readonly name: string,
    options: Partial<SqlJobQueueOptions> = {},
  ) {
    this.o = { ...defaultJobQueueOptions, pollMs: 250, ...options };
  }

  async enqueue(id: string, payload: P): Promise<void> {
    assertJobId(id);
    await this.sql.query(
      `INSERT INTO job_queue (queue, id, payload, status, max_attempts) VALUES ($1, $2, $3, 'queued', $4)
       ON CONFLICT (queue, id) DO NOTHING`,
      [this.name, id, JSON.stringify(payload), this.o.maxAttempts],
    );
    for (const c of this.consumers) c.wake();
  }

  /** One statement, `WHERE status = 'dead'`: of concurrent retries only the first finds the job dead. */
  async retry(id: string): Promise<boolean> {
    assertJobId(id);
    const r = await this.sql.query(
      `UPDATE job_queue SET status = 'queued', attempts = 0, retries = retries + 1, run_at = now(),
         locked_until = NULL, stage = NULL, percent = 0, updated_at = now()
       WHERE queue = $1 AND id = $2 AND status = 'dead'`,
      [this.name, id],
    );
    if (r.rowCount === 0) return false;
    for (const c of this.consumers) c.wake();
    return true;
  }

  async get(id: string): Promise<JobState<P> | undefined> {
    const r = await this.sql.query<Row>('SELECT * FROM job_queue WHERE queue = $1 AND id = $2', [
      this.name,
      id,
    ]);
    const row = r.rows[0];
    if (!row) return undefined;
    return {
      id: row.id,
      payload: row.payload as P,
      status: row.status,
      attempts: row.attempts,
      stage: row.stage,
      percent: row.percent,
      lastError: row.last_error,
    };
  }

  consume(handler: JobHandler<P>, options: ConsumeOptions<P> = {}): JobConsumer {
    const c = new SqlConsumer(this, handler, options, () => this.consumers.delete(c));
    this.consumers.add(c);
    c.start();
    return c;
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
  }

  /** Claims up to `n` due jobs (queued and due, or running with an expired lease). */
  async claim(n: number): Promise<Row[]> {
    const r = await this.sql.query<Row>(
      `UPDATE job_queue SET status = 'running', attempts = attempts + 1,
         locked_until = now() + $3 * interval '1 millisecond', updated_at = now()
       WHERE queue = $1 AND id IN (
         SELECT id FROM job_queue
         WHERE queue = $1 AND ((status = 'queued' AND run_at <= now()) OR (status = 'running' AND locked_until < now()))
         ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING *`,
      [this.name, n, this.o.leaseMs],
    );
    return r.rows;
  }

  /** `row` is the claimed row: its attempts and retries fence the write. */
  async progress(row: Row, stage: string, percent: number): Promise<void> {
    await this.sql.query(
      `UPDATE job_queue SET stage = $5, percent = $6, locked_until = now() + $7 * interval '1 millisecond', updated_at = now()
       WHERE queue = $1 AND id = $2 AND attempts = $3 AND retries = $4 AND status = 'running'`,
      [this.name, row.id, row.attempts, row.retries, stage, Math.round(percent), this.o.leaseMs],
    );
  }

  async complete(row: Row): Promise<void> {
    await this.sql.query(
      `UPDATE job_queue SET status = 'done', percent = 100, locked_until = NULL, updated_at = now()
       WHERE queue = $1 AND id = $2 AND attempts = $3 AND retries = $4 AND status = 'running'`,
      [this.name, row.id, row.attempts, row.retries],
    );
  }

  /** Records a failed attempt; returns true when this call moved the job to dead. */
  async fail(row: Row, err: unknown): Promise<boolean> {
    const attempt = row.attempts;
    const dead = isPermanent(err) || attempt >= row.max_attempts;
    const r = await this.sql.query(
      `UPDATE job_queue SET status = $5, last_error = $6, locked_until = NULL, updated_at = now(),
         run_at = now() + $7 * interval '1 millisecond'
       WHERE queue = $1 AND id = $2 AND attempts = $3 AND retries = $4 AND status = 'running'`,
      [
        this.name,
        row.id,
        attempt,
        row.retries,
        dead ? 'dead' : 'queued',
        errorText(err),
        dead ? 0 : backoffDelay(this.o, attempt),
      ],
    );
    return dead && r.rowCount > 0;
  }

  /**
   * Forgets finished jobs older than `stateTtlMs`, in batches, at most once
   * per tenth of it (and at least once an hour): the consumers call it as
   * they poll, so a queue someone consumes never grows past a TTL's jobs.
   * Returns how many rows it deleted.
   */
  async sweepIfDue(now = Date.now()): Promise<number> {
    if (now < this.nextSweepAt) return 0;
    this.nextSweepAt = now + Math.min(3_600_000, Math.max(100, this.o.stateTtlMs / 10));
    let deleted = 0;
    for (;;) {
      const r = await this.sql.query(
        `DELETE FROM job_queue WHERE queue = $1 AND id IN (
           SELECT id FROM job_queue
           WHERE queue = $1 AND status IN ('done', 'dead')
             AND updated_at < now() - $2 * interval '1 millisecond'
           LIMIT $3)`,
        [this.name, this.o.stateTtlMs, SWEEP_BATCH],
      );
      deleted += r.rowCount;
      if (r.rowCount < SWEEP_BATCH) return deleted;
    }
  }

  get pollMs(): number {
    return this.o.pollMs;
  }
}

class SqlConsumer<P> implements JobConsumer {
  private running = 0;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private loop: Promise<void> | undefined;
  private readonly concurrency: number;

  constructor(
    private readonly q: SqlJobQueue<P>,
    private readonly handler: JobHandler<P>,
    private readonly options: ConsumeOptions<P>,
    private readonly onStop: () => void,
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 1);
  }

  start(): void {
    this.loop = this.run();
  }

  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const free = this.concurrency - this.running;
      let claimed: Row[] = [];
      if (free > 0) {
        try {
          claimed = await this.q.claim(free);
        } catch {
          // The database is unreachable for now: poll again later.
        }
      }
      for (const row of claimed) this.track(this.handle(row));
      await this.q.sweepIfDue().catch(() => {
        // As with a claim: the database is unreachable for now; the next poll sweeps.
      });
      // Claimed fewer than asked (none due) or all slots busy: wait for a
      // wake-up (local enqueue, a slot freed) or the next poll.
      await this.idle();
    }
  }

  private idle(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, this.q.pollMs);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = done;
    }).then(() => {
      this.wakeUp = undefined;
    });
  }

  private track(p: Promise<void>): void {
    this.running++;
    this.inFlight.add(p);
    void p.finally(() => {
      this.running--;
      this.inFlight.delete(p);
      this.wake();
    });
  }

  private async handle(row: Row): Promise<void> {
    const job: Job<P> = {
      id: row.id,
      payload: row.payload as P,
      attempt: row.attempts,
      progress: (stage, percent) => this.q.progress(row, stage, percent),
    };
    if (row.attempts > row.max_attempts) {
      // Every attempt so far outlived its lease (a worker crashed mid-job).
      await this.failed(job, row, new Error('lease expired on every attempt'));
      return;
    }
    try {
      await this.handler(job);
    } catch (err) {
      await this.failed(job, row, err);
      return;
    }
    await this.q.complete(row).catch(() => {});
  }

  private async failed(job: Job<P>, row: Row, err: unknown): Promise<void> {
    const dead = await this.q.fail(row, err).catch(() => false);
    if (dead && this.options.onDead) await this.options.onDead(job, err).catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    await Promise.all(this.inFlight);
    this.onStop();
  }
}
