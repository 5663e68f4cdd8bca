import {
  AckPolicy,
  type Consumer,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
} from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { type NatsConnection, nanos } from '@nats-io/transport-node';
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
} from '../jobs/job-queue.js';

export interface NatsJobQueueOptions extends JobQueueOptions {
  /** How long JetStream drops a second publish of the same id (Nats-Msg-Id). */
  duplicateWindowMs: number;
}

/** A job's state in the KV bucket; `retries` counts retries after dead (absent: 0), the generation of the job. */
type Stored<P> = Omit<JobState<P>, 'id'> & { retries?: number };

/** A job message on the stream; `retries` is the generation it was published for. */
interface JobMessage<P> {
  id: string;
  payload: P;
  retries?: number;
}

/** A lost compare-and-set on a KV entry (someone else wrote it first). */
function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** `fetch`/`next` on a pull consumer need expires ≥ 1000 ms (see ENVIRONMENT.md). */
const PULL_EXPIRES_MS = 1_000;

/**
 * `JobQueue` over JetStream: a work-queue stream `<name>` on subject
 * `<name>.jobs`, one durable pull consumer shared by every node (ack_wait is
 * the lease; `working()` renews it; `nak(delay)` is the backoff), and a KV
 * bucket `<name>_jobs` holding each job's state so `get` and the "known id"
 * rule outlive the stream's duplicate window. The consumer's `max_deliver` is
 * maxAttempts + 1: the extra delivery lets a worker dead-letter a job whose
 * every attempt crashed. State writes are last-writer-wins (informational)
 * within one generation of a job; the message's ack is what decides whether a
 * job runs again. `retry` moves a dead state to queued by compare-and-set on
 * the entry's revision, bumping `retries`, then publishes a new message for
 * that generation (its own `Nats-Msg-Id`, so the duplicate window does not
 * drop it); writes and messages of an older generation are ignored.
 */
export class NatsJobQueue<P> implements JobQueue<P> {
  readonly kind = 'nats' as const;
  private readonly consumers = new Set<NatsConsumer<P>>();
  private readonly subject: string;
  private readonly durable: string;

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly kv: KV,
    readonly name: string,
    readonly o: NatsJobQueueOptions,
  ) {
    this.subject = `${name}.jobs`;
    this.durable = `${name}_workers`;
  }

  static async open<P>(
    nc: NatsConnection,
    name: string,
    options: Partial<NatsJobQueueOptions> = {},
  ): Promise<NatsJobQueue<P>> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name))
      throw new Error(`queue name must match [A-Za-z0-9_-]{1,64}: ${name}`);
    const o: NatsJobQueueOptions = {
      ...defaultJobQueueOptions,
      duplicateWindowMs: 120_000,
      ...options,
    };
    const jsm = await jetstreamManager(nc);
    const streamConfig = {
      name,
      subjects: [`${name}.jobs`],
      retention: RetentionPolicy.Workqueue,
      duplicate_window: nanos(o.duplicateWindowMs),
    };
    await jsm.streams.add(streamConfig).catch(async () => jsm.streams.update(name, streamConfig));
    await jsm.consumers.add(name, {
      durable_name: `${name}_workers`,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(o.leaseMs),
      max_deliver: o.maxAttempts + 1,
      filter_subject: `${name}.jobs`,
    });
    const kv = await new Kvm(nc).create(`${name}_jobs`, { history: 1, ttl: o.stateTtlMs });
    return new NatsJobQueue<P>(jetstream(nc), jsm, kv, name, o);
  }

  async enqueue(id: string, payload: P): Promise<void> {
    assertJobId(id);
    const known = await this.state(id);
    if (known && known.status !== 'queued') return;
    if (known) {
      // Published even when a state says queued: that repairs a crash between the two writes;
      // within the window JetStream drops the duplicate, after it the worker skips finished ids.
      await this.publish(id, known.payload, known.retries ?? 0);
      return;
    }
    const s: Stored<P> = {
      payload,
      status: 'queued',
      attempts: 0,
      stage: null,
      percent: 0,
      lastError: null,
    };
    // A concurrent enqueue or an early worker may have written first: keep theirs.
    await this.kv.create(id, JSON.stringify(s)).catch(() => {});
    await this.publish(id, payload, 0);
  }

  private async publish(id: string, payload: P, retries: number): Promise<void> {
    const message: JobMessage<P> = retries ? { id, payload, retries } : { id, payload };
    // `.` is not in a job id: a retry's message id cannot be another job's.
    await this.js.publish(this.subject, JSON.stringify(message), {
      msgID: retries ? `${id}.r${retries}` : id,
    });
  }

  async retry(id: string): Promise<boolean> {
    assertJobId(id);
    for (let i = 0; i < 5; i++) {
      const e = await this.kv.get(id);
      if (e?.operation !== 'PUT') return false;
      const cur = e.json<Stored<P>>();
      if (cur.status !== 'dead') return false;
      const retries = (cur.retries ?? 0) + 1;
      const next: Stored<P> = { ...cur, status: 'queued', attempts: 0, stage: null, percent: 0, retries };
      try {
        await this.kv.update(id, JSON.stringify(next), e.revision);
      } catch (err) {
        if (isWrongLastSequence(err)) continue; // someone wrote first: read again
        throw err;
      }
      // A crash right here leaves the state queued without a message: `enqueue` of the id republishes it.
      await this.publish(id, cur.payload, retries);
      return true;
    }
    return false;
  }

  async get(id: string): Promise<JobState<P> | undefined> {
    const s = await this.state(id);
    if (!s) return undefined;
    const { retries: _, ...state } = s;
    return { id, ...state };
  }

  async state(id: string): Promise<Stored<P> | undefined> {
    const e = await this.kv.get(id);
    return e && e.operation === 'PUT' ? (e.json() as Stored<P>) : undefined;
  }

  /**
   * Writes a state unless a later attempt or a later generation has written
   * one (a worker whose lease expired, or whose job went dead and was retried,
   * must not overwrite its successor): compare-and-set on the entry's
   * revision, retried on a lost race.
   */
  async setState(id: string, s: Stored<P>): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const e = await this.kv.get(id);
      const cur = e && e.operation === 'PUT' ? (e.json() as Stored<P>) : undefined;
      if (cur && isNewer(cur, s)) return;
      try {
        if (e) await this.kv.update(id, JSON.stringify(s), e.revision);
        else await this.kv.create(id, JSON.stringify(s));
        return;
      } catch {
        // Someone wrote in between: read again.
      }
    }
  }

  consume(handler: JobHandler<P>, options: ConsumeOptions<P> = {}): JobConsumer {
    const c = new NatsConsumer(this, this.js.consumers.get(this.name, this.durable), handler, options, () =>
      this.consumers.delete(c),
    );
    this.consumers.add(c);
    return c;
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
  }

  /** Deletes the stream, its consumer and the state bucket (tests, teardown). */
  async destroy(): Promise<void> {
    await this.close();
    await this.jsm.streams.delete(this.name).catch(() => {});
    await this.kv.destroy().catch(() => {});
  }
}

/** True when state `a` belongs to a later generation or a later attempt than `b`. */
function isNewer(a: Stored<unknown>, b: Stored<unknown>): boolean {
  const ga = a.retries ?? 0;
  const gb = b.retries ?? 0;
  return ga !== gb ? ga > gb : a.attempts > b.attempts;
}

class NatsConsumer<P> implements JobConsumer {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly q: NatsJobQueue<P>,
    consumer: Promise<Consumer>,
    private readonly handler: JobHandler<P>,
    private readonly options: ConsumeOptions<P>,
    private readonly onStop: () => void,
  ) {
    const n = Math.max(1, options.concurrency ?? 1);
    for (let i = 0; i < n; i++) this.loops.push(this.loop(consumer));
  }

  private async loop(consumer: Promise<Consumer>): Promise<void> {
    while (!this.stopped) {
      let m: JsMsg | null = null;
      try {
        m = await (await consumer).next({ expires: PULL_EXPIRES_MS });
      } catch {
        // Connection trouble or the stream went away: back off a little and try again.
        if (!this.stopped) await new Promise((r) => setTimeout(r, 500));
      }
      if (m) await this.handle(m).catch(() => {});
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    let id: string;
    let payload: P;
    let retries: number;
    try {
      let r: number | undefined;
      ({ id, payload, retries: r } = m.json<JobMessage<P>>());
      retries = r ?? 0;
    } catch {
      m.term('not a job'); // not ours to run: never redeliver it
      return;
    }
    const attempt = m.info.deliveryCount;
    const prior = await this.q.state(id);
    const priorRetries = prior?.retries ?? 0;
    if (
      prior &&
      (priorRetries > retries ||
        (priorRetries === retries && (prior.status === 'done' || prior.status === 'dead')))
    ) {
      m.ack(); // finished, or a message of a generation since retried
      return;
    }
    const lastError = prior?.lastError ?? null;
    const state: Stored<P> = {
      payload,
      status: 'running',
      attempts: attempt,
      stage: null,
      percent: 0,
      lastError,
      ...(retries ? { retries } : {}),
    };
    const job: Job<P> = {
      id,
      payload,
      attempt,
      progress: async (stage, percent) => {
        m.working();
        state.stage = stage;
        state.percent = Math.round(percent);
        await this.q.setState(id, state);
      },
    };
    if (attempt > this.q.o.maxAttempts) {
      await this.failed(m, job, state, new Error('lease expired on every attempt'), true);
      return;
    }
    await this.q.setState(id, state);
    try {
      await this.handler(job);
    } catch (err) {
      await this.failed(m, job, state, err, isPermanent(err) || attempt >= this.q.o.maxAttempts);
      return;
    }
    await this.q.setState(id, { ...state, status: 'done', percent: 100 });
    await m.ackAck();
  }

  private async failed(m: JsMsg, job: Job<P>, state: Stored<P>, err: unknown, dead: boolean): Promise<void> {
    await this.q.setState(job.id, { ...state, status: dead ? 'dead' : 'queued', lastError: errorText(err) });
    if (!dead) {
      m.nak(backoffDelay(this.q.o, job.attempt));
      return;
    }
    m.term(errorText(err).slice(0, 200));
    if (this.options.onDead) await this.options.onDead(job, err).catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    this.onStop();
  }
}
