import type { ActorType, AnyActorType, Handlers } from './actor-type.js';
import { fullJitter } from './backoff.js';
import { Delivery } from './delivery.js';
import { ActorTimeout, ActorUnavailable, isRetryable, ShardNotOwned, UnknownActorType } from './errors.js';
import { GroupCommit, type GroupCommitOptions } from './group-commit.js';
import { checkKey } from './idempotency-key.js';
import { type IsolationCounts, saveIsolating } from './isolating-commit.js';
import { LocalActors, type Router } from './local-actors.js';
import { MemoryStateStore } from './memory-state-store.js';
import { type ActorEnvelope, type ActorMessage, type Placement, SingleNodePlacement } from './placement.js';
import type { ActorRef, ActorSystemApi, AskOptions } from './ref.js';
import { ActorRefImpl } from './ref-impl.js';
import type { IdempotencyOptions } from './replies.js';
import type { SaveOutcome, StateStore, StateWrite } from './state-store.js';
import { type ActorSystemStats, StatsRecorder } from './stats.js';

export interface ActorSystemOptions {
  /** Where state lives. Default: a fresh `MemoryStateStore`. */
  store?: StateStore;
  /** Where shards live. Default: `SingleNodePlacement` (everything local, epoch 1). */
  placement?: Placement;
  /** Idle time before an activation passivates (types may override). Default 120 s. */
  idleMs?: number;
  /** How often idle activations are looked for. Default a quarter of `idleMs` (at most 30 s). */
  sweepIntervalMs?: number;
  /** Deadline of an ask/tell that names none, and of timer messages. Default 5 s. */
  defaultDeadlineMs?: number;
  idempotency?: IdempotencyOptions;
  groupCommit?: GroupCommitOptions;
  /** Backoff while a shard is moving or a delivery failed retryably. Default 5 ms doubling to 250 ms. */
  routeBackoffMs?: number;
  routeBackoffCapMs?: number;
  /** Backoff between attempts to load an actor's state. Default 50 ms doubling to 5 s. */
  loadBackoffMs?: number;
  loadBackoffCapMs?: number;
  /** How long stopping an activation waits for its running turn before dropping it. Default 10 s. */
  stopGraceMs?: number;
  /** Failures nobody awaits (tells, loads, saves, hooks) are reported here. */
  onError?: (err: unknown, context: Record<string, unknown>) => void;
}

const DEFAULTS = {
  idleMs: 120_000,
  defaultDeadlineMs: 5_000,
  windowMs: 24 * 3_600_000,
  maxKeys: 1024,
  pruneIntervalMs: 60_000,
  routeBackoffMs: 5,
  routeBackoffCapMs: 250,
  loadBackoffMs: 50,
  loadBackoffCapMs: 5_000,
  stopGraceMs: 10_000,
} as const;

/**
 * A node's actor runtime: addressing, routing through the `Placement` (local
 * shards short-circuit, remote ones go through `forward`), retries until the
 * deadline, and the local activations (`LocalActors`, `Activation`).
 */
export class ActorSystem implements ActorSystemApi {
  readonly store: StateStore;
  readonly placement: Placement;
  private readonly counters = new StatsRecorder();
  private readonly local: LocalActors;
  private readonly writer: GroupCommit<StateWrite, SaveOutcome>;
  private readonly deadlineMs: number;
  private readonly backoff: { base: number; cap: number };
  private readonly onError: ActorSystemOptions['onError'];
  private readonly sweeper: ReturnType<typeof setInterval>;
  private readonly pruner: ReturnType<typeof setInterval> | undefined;
  private readonly windowMs: number;
  private pruning = false;
  private closed = false;
  private readonly isolation: IsolationCounts = { splits: 0, extraTransactions: 0, isolated: 0 };

  constructor(options: ActorSystemOptions = {}) {
    const idleMs = options.idleMs ?? DEFAULTS.idleMs;
    this.deadlineMs = options.defaultDeadlineMs ?? DEFAULTS.defaultDeadlineMs;
    this.backoff = {
      base: options.routeBackoffMs ?? DEFAULTS.routeBackoffMs,
      cap: options.routeBackoffCapMs ?? DEFAULTS.routeBackoffCapMs,
    };
    this.onError = options.onError;
    this.store = options.store ?? new MemoryStateStore();
    this.placement = options.placement ?? new SingleNodePlacement();
    // A batch whose transaction fails is split, so one write the store refuses fails alone.
    this.writer = new GroupCommit((ws) => saveIsolating(this.store, ws, this.isolation), options.groupCommit);
    const router: Router = {
      fail: (d, e) => this.fail(d, e),
      redispatch: (d) => this.redispatch(d),
      report: (e, c) => this.onError?.(e, c),
    };
    this.local = new LocalActors(this, router, this.counters, this.store, this.writer, {
      idleMs,
      timerDeadlineMs: this.deadlineMs,
      windowMs: options.idempotency?.windowMs ?? DEFAULTS.windowMs,
      maxKeys: options.idempotency?.maxKeys ?? DEFAULTS.maxKeys,
      loadBackoffMs: options.loadBackoffMs ?? DEFAULTS.loadBackoffMs,
      loadBackoffCapMs: options.loadBackoffCapMs ?? DEFAULTS.loadBackoffCapMs,
      stopGraceMs: options.stopGraceMs ?? DEFAULTS.stopGraceMs,
    });
    // One interval for all activations (not a timer each: an idle activation must stay small).
    const every = options.sweepIntervalMs ?? Math.min(30_000, Math.max(10, Math.floor(idleMs / 4)));
    this.sweeper = setInterval(() => this.local.sweep(Date.now()), every);
    this.sweeper.unref?.();
    this.windowMs = options.idempotency?.windowMs ?? DEFAULTS.windowMs;
    const pruneEvery = options.idempotency?.pruneIntervalMs ?? DEFAULTS.pruneIntervalMs;
    if (pruneEvery > 0) {
      this.pruner = setInterval(() => void this.pruneKeys(), pruneEvery);
      this.pruner.unref?.();
    }
  }

  /**
   * Deletes keys older than the window (plus a margin for node clocks that
   * disagree) from the store's key table, in bounded statements: at most
   * `PRUNE_BATCH` rows each, `PRUNE_ROUNDS` statements per call (the interval
   * catches up on the rest). Every node prunes; deleting twice is harmless.
   * Resolves with the number deleted.
   */
  async pruneKeys(now = Date.now()): Promise<number> {
    if (this.pruning) return 0;
    this.pruning = true;
    let total = 0;
    try {
      for (let i = 0; i < PRUNE_ROUNDS; i++) {
        const n = await this.store.pruneKeys(now - this.windowMs - PRUNE_MARGIN_MS, PRUNE_BATCH);
        total += n;
        if (n < PRUNE_BATCH) break;
      }
    } catch (e) {
      this.onError?.(e, { phase: 'prune-keys' });
    } finally {
      this.pruning = false;
    }
    return total;
  }

  /** The actor's shard (what refs cache). */
  shardOf(type: string, id: string): number {
    return this.placement.shardOf(type, id);
  }

  /** Makes a type addressable here. Every node of a cluster registers the same types. */
  register<S, H extends Handlers<S>>(type: ActorType<S, H>): this {
    this.local.register(type as unknown as AnyActorType);
    return this;
  }

  ref<S, H extends Handlers<S>>(type: ActorType<S, H>, id: string): ActorRef<H> {
    if (this.local.types.get(type.name) !== (type as unknown)) throw new UnknownActorType(type.name);
    return new ActorRefImpl<H>(this, type.name, id);
  }

  /** Untyped send by type name (what refs use); routes and retries until the deadline. */
  send(
    type: string,
    id: string,
    msg: ActorMessage,
    kind: 'ask' | 'tell',
    options: AskOptions = {},
    shard = this.placement.shardOf(type, id),
  ): Promise<unknown> {
    const deadlineMs = options.deadlineMs ?? this.deadlineMs;
    const now = Date.now();
    const env: ActorEnvelope = { type, id, msg, kind, deadline: now + deadlineMs };
    if (options.idempotencyKey !== undefined) {
      // Refused before routing: a key with no readable time, or older than the window.
      try {
        checkKey(options.idempotencyKey, now, this.windowMs);
      } catch (e) {
        if (kind === 'tell') this.onError?.(e, { type, id, msg: msg.type });
        return Promise.reject(e);
      }
      env.idempotencyKey = options.idempotencyKey;
    }
    return new Promise((resolve, reject) => {
      const d = new Delivery(env, shard, true, resolve, reject);
      if (kind === 'ask') d.deadlineTimer = setTimeout(() => this.timeout(d), deadlineMs);
      this.route(d);
    });
  }

  /**
   * Entry for envelopes from other nodes (the cluster layer calls it for bus
   * messages). Resolves with the reply of an ask, or once a tell is queued.
   * Rejects with `ShardNotOwned` (retryable: the sender routes again) when the
   * shard is not served here, `ActorTimeout` past the deadline, or the
   * handler's `ActorHandlerError`.
   */
  deliverLocal(env: ActorEnvelope): Promise<unknown> {
    if (env.kind === 'tell') {
      // A tell is acknowledged once queued; its outcome is reported here, not to the sender.
      let refused: unknown;
      const d = new Delivery(env, this.placement.shardOf(env.type, env.id), false, noop, (e) => {
        refused = e;
      });
      if (env.deadline <= Date.now()) return Promise.reject(new ActorTimeout(env.type, env.deadline));
      this.redispatch(d);
      return refused === undefined ? Promise.resolve(undefined) : Promise.reject(refused);
    }
    return new Promise((resolve, reject) => {
      const d = new Delivery(env, this.placement.shardOf(env.type, env.id), false, resolve, reject);
      const left = env.deadline - Date.now();
      if (left <= 0) return this.timeout(d);
      d.deadlineTimer = setTimeout(() => this.timeout(d), left);
      this.redispatch(d);
    });
  }

  /**
   * Stops serving a shard (handoff, drain): new and queued messages for it are
   * refused with `ShardNotOwned` (their senders retry, reaching the next
   * owner), running turns finish, every activation saves and passivates.
   * Resolves when none is left. The shard is served again once the placement
   * reports it local under a higher epoch.
   */
  stopShard(shard: number): Promise<void> {
    const loc = this.placement.locate(shard);
    return this.local.stopShard(shard, loc.kind === 'local' ? loc.epoch : 0);
  }

  /** Shards with at least one live activation on this node. */
  activeShards(): number[] {
    return this.local.shards();
  }

  stats(): ActorSystemStats {
    const s = this.counters.snapshot();
    s.batchSplits = this.isolation.splits;
    return s;
  }

  /** Passivates everything (saving state) and stops; later sends fail with `actor_unavailable`. */
  async stop(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    if (this.pruner) clearInterval(this.pruner);
    await Promise.all(this.local.shards().map((s) => this.stopShard(s)));
  }

  private route(d: Delivery): void {
    if (d.done) return;
    const env = d.env;
    if (Date.now() >= env.deadline) return this.timeout(d);
    if (this.closed)
      return d.reject(new ActorUnavailable('the actor system is stopped', { retryable: false }));
    const shard = d.shard;
    const loc = this.placement.locate(shard);
    if (loc.kind === 'local') {
      this.counters.c.routedLocal++;
      this.local.dispatch(d, shard, loc.epoch);
    } else if (loc.kind === 'remote') {
      this.counters.c.routedRemote++;
      this.placement.forward(loc.node, env, env.deadline).then(
        (v) => d.resolve(v),
        (e) => this.fail(d, e),
      );
    } else {
      this.retryLater(d, new ShardNotOwned(shard));
    }
  }

  /** Routes again: from the start for our own sends, only locally for bus arrivals. */
  private redispatch(d: Delivery): void {
    if (d.routable) return this.route(d);
    if (d.done) return;
    const shard = d.shard;
    const loc = this.placement.locate(shard);
    if (loc.kind === 'local' && !this.closed) this.local.dispatch(d, shard, loc.epoch);
    else d.reject(new ShardNotOwned(shard));
  }

  private fail(d: Delivery, err: unknown): void {
    if (d.done) return;
    if (d.routable && isRetryable(err)) return this.retryLater(d, err);
    if (d.env.kind === 'tell') this.onError?.(err, { type: d.env.type, id: d.env.id, msg: d.env.msg.type });
    d.reject(err);
  }

  private retryLater(d: Delivery, err: unknown): void {
    d.lastError = err;
    this.counters.c.retries++;
    const left = d.env.deadline - Date.now();
    const wait = fullJitter(d.attempt++, this.backoff.base, this.backoff.cap);
    d.retryTimer = setTimeout(() => this.route(d), Math.max(0, Math.min(wait, left)));
  }

  private timeout(d: Delivery): void {
    if (d.done) return;
    this.counters.c.timeouts++;
    const what = `${d.env.type}/${d.env.id} ${d.env.msg.type}`;
    d.reject(new ActorTimeout(what, d.env.deadline, d.lastError === undefined ? {} : { cause: d.lastError }));
  }
}

function noop(): void {}

/** Key-table pruning: rows per statement, statements per interval, and slack for node clocks. */
const PRUNE_BATCH = 5_000;
const PRUNE_ROUNDS = 20;
const PRUNE_MARGIN_MS = 5 * 60_000;
