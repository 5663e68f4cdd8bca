import { Activation, type ActivationRuntime } from './activation.js';
import type { AnyActorType } from './actor-type.js';
import { Delivery } from './delivery.js';
import { ShardNotOwned, StaleEpoch, UnknownActorType } from './errors.js';
import type { GroupCommit } from './group-commit.js';
import type { ActorEnvelope, ActorMessage } from './placement.js';
import type { ActorSystemApi } from './ref.js';
import type { SaveOutcome, StateStore, StateWrite } from './state-store.js';
import type { StatsRecorder } from './stats.js';

/** How long an actor whose multi-turn write was refused writes one turn at a time. */
const SUSPECT_MS = 60_000;

/** What the local side needs from the router (the `ActorSystem`). */
export interface Router {
  fail(d: Delivery, err: unknown): void;
  redispatch(d: Delivery): void;
  report(err: unknown, context: Record<string, unknown>): void;
}

/**
 * The activations of one node, indexed by address and by shard; shard
 * fencing and stopping; the idle sweep. Routing decisions are the system's.
 */
export class LocalActors implements ActivationRuntime {
  readonly types = new Map<string, AnyActorType>();
  private readonly live = new Map<string, Map<string, Activation>>();
  private readonly byShard = new Map<number, Set<Activation>>();
  /** Shards stopped by `stopShard`, with the epoch they were stopped at. */
  private readonly stopped = new Map<number, number>();
  private readonly fences = new Map<number, { epoch: number; done: Promise<void> }>();
  private readyList: Activation[] = [];
  /** Actors whose multi-turn write was refused, until when their activations stay careful. */
  private readonly suspects = new Map<string, number>();

  constructor(
    readonly api: ActorSystemApi,
    private readonly router: Router,
    readonly counters: StatsRecorder,
    readonly store: StateStore,
    readonly writer: GroupCommit<StateWrite, SaveOutcome>,
    readonly config: ActivationRuntime['config'] & { idleMs: number; timerDeadlineMs: number },
  ) {}

  register(type: AnyActorType): void {
    const known = this.types.get(type.name);
    if (known && known !== type) throw new TypeError(`another actor type is already named ${type.name}`);
    this.types.set(type.name, type);
    if (!this.live.has(type.name)) this.live.set(type.name, new Map());
  }

  /** Hands a delivery to the actor's activation here, creating it on first message. */
  dispatch(d: Delivery, shard: number, epoch: number): void {
    const stoppedAt = this.stopped.get(shard);
    if (stoppedAt !== undefined) {
      if (epoch <= stoppedAt) return this.router.fail(d, new ShardNotOwned(shard));
      this.stopped.delete(shard); // owned again under a newer epoch
    }
    const def = this.types.get(d.env.type);
    const acts = this.live.get(d.env.type);
    if (!def || !acts) return d.reject(new UnknownActorType(d.env.type));
    let a = acts.get(d.env.id);
    if (a && a.epoch !== epoch && a.status !== 'stopping') {
      // The shard changed hands and came back: this activation's state may be stale. Stop it
      // (its writes in flight settle, its last save is fenced out if someone else owned the
      // shard meanwhile); what reaches it meanwhile is routed again to a fresh activation.
      void a.stop();
    }
    if (!a) {
      a = new Activation(this, def, d.env.id, shard, epoch);
      acts.set(d.env.id, a);
      let set = this.byShard.get(shard);
      if (!set) this.byShard.set(shard, (set = new Set()));
      set.add(a);
      this.counters.c.activations++;
      a.start();
    }
    a.enqueue(d);
  }

  /** See `ActorSystem.stopShard`. `epoch`: the epoch the shard was owned at here. */
  async stopShard(shard: number, epoch: number): Promise<void> {
    const e = Math.max(epoch, this.fences.get(shard)?.epoch ?? 0, this.stopped.get(shard) ?? 0);
    this.stopped.set(shard, e);
    await Promise.all([...(this.byShard.get(shard) ?? [])].map((a) => a.stop()));
  }

  shards(): number[] {
    return [...this.byShard.keys()];
  }

  /** Passivates every quiet activation idle for at least its type's idle time. */
  sweep(now: number): void {
    for (const [name, acts] of this.live) {
      const idle = this.types.get(name)?.idleMs ?? this.config.idleMs;
      for (const a of acts.values()) if (a.quietNow && now - a.lastActive >= idle) void a.stop();
    }
  }

  ready(a: Activation): void {
    a.ready = true;
    if (this.readyList.push(a) === 1) queueMicrotask(() => this.drainReady());
  }

  private drainReady(): void {
    const list = this.readyList;
    this.readyList = [];
    for (const a of list) {
      a.ready = false;
      a.drain();
    }
  }

  fail(d: Delivery, err: unknown): void {
    this.router.fail(d, err);
  }

  redispatch(d: Delivery): void {
    this.router.redispatch(d);
  }

  report(err: unknown, context: Record<string, unknown>): void {
    this.router.report(err, context);
  }

  removed(a: Activation): void {
    const acts = this.live.get(a.typeName);
    if (acts?.get(a.id) === a) acts.delete(a.id);
    const set = this.byShard.get(a.shard);
    if (set?.delete(a) && set.size === 0) this.byShard.delete(a.shard);
    this.counters.c.activations--;
  }

  suspect(type: string, id: string): void {
    if (this.suspects.size >= 10_000) {
      const now = Date.now();
      for (const [k, until] of this.suspects) if (until <= now) this.suspects.delete(k);
      if (this.suspects.size >= 10_000) this.suspects.clear(); // only an optimisation: bounded
    }
    this.suspects.set(`${type}\u0000${id}`, Date.now() + SUSPECT_MS);
  }

  isSuspect(type: string, id: string): boolean {
    if (this.suspects.size === 0) return false;
    const k = `${type}\u0000${id}`;
    const until = this.suspects.get(k);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.suspects.delete(k);
    return false;
  }

  /** Raises the store's fence for (shard, epoch) once per epoch, before the first load under it. */
  ensureFenced(shard: number, epoch: number): Promise<void> {
    const f = this.fences.get(shard);
    if (f && f.epoch === epoch) return f.done;
    if (f && f.epoch > epoch) return Promise.reject(new StaleEpoch(shard, epoch, f.epoch));
    const done = this.store.fence(shard, epoch);
    this.fences.set(shard, { epoch, done });
    // A failed fence is forgotten so the next activation tries again.
    done.catch(() => {
      if (this.fences.get(shard)?.done === done) this.fences.delete(shard);
    });
    return done;
  }

  forgetFence(shard: number): void {
    this.fences.delete(shard);
  }

  timerMessage(a: Activation, msg: ActorMessage): Delivery {
    const deadline = Date.now() + this.config.timerDeadlineMs;
    const env: ActorEnvelope = { type: a.typeName, id: a.id, msg, kind: 'tell', deadline };
    const onError = (e: unknown) => this.report(e, { type: a.typeName, id: a.id, timer: msg.type });
    return new Delivery(env, a.shard, false, () => {}, onError, true);
  }
}
