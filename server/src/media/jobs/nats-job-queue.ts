import {
  AckPolicy,
  type Consumer,
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
} from './job-queue.js';

export interface NatsJobQueueOptions extends JobQueueOptions {
  /** How long JetStream drops a second publish of the same id (Nats-Msg-Id). */
  duplicateWindowMs: number;
  /** How long job states (done, dead) stay readable. */
  stateTtlMs: number;
}

type Stored<P> = Omit<JobState<P>, 'id'>;

/** `fetch`/`next` on a pull consumer need expires ≥ 1000 ms (see ENVIRONMENT.md). */
const PULL_EXPIRES_MS = 1_000;

/**
 * `JobQueue` over JetStream: a work-queue stream `<name>` on subject
 * `<name>.jobs`, one durable pull consumer shared by every node (ack_wait is
 * the lease; `working()` renews it; `nak(delay)` is the backoff), and a KV
 * bucket `<name>_jobs` holding each job's state so `get` and the "known id"
 * rule outlive the stream's duplicate window. The consumer's `max_deliver` is
 * maxAttempts + 1: the extra delivery lets a worker dead-letter a job whose
 * every attempt crashed. State writes are last-writer-wins (informational);
 * the message's ack is what decides whether a job runs again.
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
      stateTtlMs: 7 * 86_400_000,
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
    if (!known) {
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
    }
    // Published even when a state says queued: that repairs a crash between the two writes;
    // within the window JetStream drops the duplicate, after it the worker skips finished ids.
    await this.js.publish(this.subject, JSON.stringify({ id, payload }), { msgID: id });
  }

  async get(id: string): Promise<JobState<P> | undefined> {
    const s = await this.state(id);
    return s ? { id, ...s } : undefined;
  }

  async state(id: string): Promise<Stored<P> | undefined> {
    const e = await this.kv.get(id);
    return e && e.operation === 'PUT' ? (e.json() as Stored<P>) : undefined;
  }

  /**
   * Writes a state unless a later attempt has written one (a worker whose
   * lease expired must not overwrite its successor): compare-and-set on the
   * entry's revision, retried on a lost race.
   */
  async setState(id: string, s: Stored<P>): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const e = await this.kv.get(id);
      const cur = e && e.operation === 'PUT' ? (e.json() as Stored<P>) : undefined;
      if (cur && cur.attempts > s.attempts) return;
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
    try {
      ({ id, payload } = m.json<{ id: string; payload: P }>());
    } catch {
      m.term('not a job'); // not ours to run: never redeliver it
      return;
    }
    const attempt = m.info.deliveryCount;
    const prior = await this.q.state(id);
    if (prior && (prior.status === 'done' || prior.status === 'dead')) {
      m.ack();
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
