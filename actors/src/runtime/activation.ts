import { fullJitter } from './backoff.js';
import type { Delivery } from './delivery.js';
import { DurableState, type PersistedDoc } from './durable.js';
import {
  ActorHandlerError,
  ActorTimeout,
  ActorUnavailable,
  ShardNotOwned,
  StaleEpoch,
  StateRejected,
  UnknownMessage,
} from './errors.js';
import { checkKeyAt, keyTime } from './idempotency-key.js';
import type { ActorMessage } from './placement.js';
import type { ActorSystemApi } from './ref.js';
import { KeyCache } from './replies.js';
import { Turn, type TurnHost } from './turn.js';

export type { ActivationRuntime, PersistedDoc } from './durable.js';

type Thenable = PromiseLike<unknown>;

/**
 * One live actor: its mailbox and turn loop, lifecycle (load, passivate,
 * discard) and timers; state and writes live in `DurableState`. Turns run one
 * at a time unless the type is reentrant. Fields are few and lazily
 * allocated: an idle activation must stay small.
 */
export class Activation extends DurableState implements TurnHost {
  lastActive = Date.now();
  /** Queued deliveries from `head` on; undefined when empty. */
  private box: Delivery[] | undefined;
  private head = 0;
  private running = 0;
  /** In the system's ready list (a drain is due). */
  ready = false;
  private timers: Map<string, ReturnType<typeof setTimeout>> | undefined;
  private passivateAsked = false;
  private quiet: Array<() => void> | undefined;
  private loading: Promise<boolean> | undefined;
  private stopping: Promise<void> | undefined;

  get typeName(): string {
    return this.def.name;
  }
  get system(): ActorSystemApi {
    return this.rt.api;
  }
  get queued(): number {
    return this.box ? this.box.length - this.head : 0;
  }
  /** True when nothing runs, waits or is unsaved: safe to passivate. */
  get quietNow(): boolean {
    return (
      this.status === 'active' && this.running === 0 && this.queued === 0 && !this.writing && !this.dirty
    );
  }

  /** A key-table lookup is in flight: turns wait for it (see `lookup`). */
  private looking = false;
  /**
   * What lookups answered for keys of queued messages: the stored reply, or
   * absent (an absent key is consumed when its message is applied). Holds
   * only keys of queued messages; dropped when the mailbox empties.
   */
  private looked: Map<string, { found: boolean; reply?: unknown }> | undefined;
  /** One turn per write: the next turn waits until the previous one's state is committed (see `suspect`). */
  private careful = false;

  start(): void {
    if (this.rt.isSuspect(this.def.name, this.id)) this.careful = true;
    this.loading = this.load();
  }

  enqueue(d: Delivery): void {
    if (this.box) this.box.push(d);
    else this.box = [d];
    this.rt.counters.c.mailboxDepth++;
    if (!d.fromTimer) this.lastActive = Date.now();
    this.schedule();
  }

  private take(): Delivery | undefined {
    const box = this.box;
    if (!box) return undefined;
    const d = box[this.head++];
    this.rt.counters.c.mailboxDepth--;
    if (this.head === box.length) {
      this.box = undefined;
      this.head = 0;
    }
    return d;
  }

  private schedule(): void {
    // One microtask per system drains every ready activation (not one per activation).
    if (!this.ready && this.status === 'active') this.rt.ready(this);
  }

  drain(): void {
    const reentrant = this.def.reentrant === true;
    const now = Date.now(); // once per pass: a clock read per message costs more than a stale one
    while (this.status === 'active' && (reentrant || this.running === 0)) {
      if (this.careful && (this.writing || this.dirty)) break; // afterWrite() resumes
      if (this.looking) break; // one key lookup at a time; it resumes the mailbox when answered
      const d = this.take();
      if (!d) break;
      if (d.done) continue;
      if (now >= d.env.deadline) {
        this.rt.counters.c.timeouts++;
        this.rt.fail(d, new ActorTimeout(`${this.def.name}/${this.id}`, d.env.deadline));
        continue;
      }
      if (d.env.idempotencyKey !== undefined && this.needsLookup(d)) {
        this.putBack(d);
        void this.lookup();
        break;
      }
      const p = this.runTurn(d);
      if (p) {
        this.running++;
        p.then(() => {
          this.running--;
          this.lastActive = Date.now(); // a long turn is activity too
          this.notifyQuiet();
          this.drain();
        });
      }
    }
    if (this.queued === 0 && !this.looking) this.looked = undefined;
    if (this.passivateAsked && this.quietNow) void this.stop();
  }

  private keyCache(): KeyCache {
    this.keys ??= new KeyCache(this.rt.config.maxKeys, this.keysUpTo);
    return this.keys;
  }

  /**
   * Whether a keyed message must ask the store's key table before it runs:
   * its key is not in memory, its time is at or below the horizon (so an
   * earlier activation, or this one before it forgot the key, may have
   * committed it), and the last lookup did not already find it absent.
   */
  private needsLookup(d: Delivery): boolean {
    if ((this.def.persistence ?? 'turn') === 'none') return false;
    const key = d.env.idempotencyKey as string;
    d.keyAt ??= keyTime(key);
    if (d.keyAt === undefined) return false; // runTurn refuses it
    const keys = this.keyCache();
    return d.keyAt <= keys.horizon && !keys.get(key) && !this.looked?.has(key);
  }

  private putBack(d: Delivery): void {
    if (this.box && this.head > 0 && this.box[this.head - 1] === d) this.head--;
    else if (!this.box) {
      this.box = [d];
      this.head = 0;
    } else this.box.splice(this.head, 0, d);
    this.rt.counters.c.mailboxDepth++;
  }

  /**
   * One key-table query for every queued keyed message that needs one; turns
   * wait meanwhile (the mailbox keeps its order). Found keys join the memory
   * (their messages are answered with the stored reply); the others are
   * marked absent and run. A failed lookup is retried after a backoff while
   * the messages' deadlines allow.
   */
  private async lookup(): Promise<void> {
    this.looking = true;
    const want = new Map<string, number>();
    const prev = this.looked;
    const next = new Map<string, { found: boolean; reply?: unknown }>();
    const box = this.box;
    for (let i = this.head; box && i < box.length && want.size < 1000; i++) {
      const q = box[i];
      const k = q?.env.idempotencyKey;
      if (!q || q.done || k === undefined) continue;
      const had = prev?.get(k);
      if (had) next.set(k, had);
      else if (this.needsLookup(q)) want.set(k, q.keyAt as number);
    }
    this.looked = next;
    const c = this.rt.counters.c;
    c.keyLookupBatches++;
    c.keyLookups += want.size;
    try {
      const found = await this.rt.store.lookupKeys(this.def.name, this.id, [...want.keys()]);
      if (this.status === 'dead' || this.looked !== next) return;
      for (const k of want.keys()) {
        next.set(k, found.has(k) ? { found: true, reply: found.get(k) } : { found: false });
      }
    } catch (e) {
      this.rt.report(e, { type: this.def.name, id: this.id, phase: 'lookup-keys' });
      const cfg = this.rt.config;
      await new Promise((r) => setTimeout(r, fullJitter(1, cfg.loadBackoffMs, cfg.loadBackoffCapMs)));
    } finally {
      this.looking = false;
      this.schedule();
    }
  }

  private runTurn(d: Delivery): Thenable | undefined {
    const env = d.env;
    const key = env.idempotencyKey;
    if (key !== undefined) {
      try {
        d.keyAt = checkKeyAt(key, d.keyAt ?? keyTime(key), Date.now(), this.rt.config.windowMs);
      } catch (e) {
        this.rt.fail(d, e);
        return undefined;
      }
      // Known: applied by this activation, or found in the store's key table by a lookup.
      const hit = this.keyCache().get(key) ?? this.looked?.get(key);
      if (hit && (!('found' in hit) || hit.found)) {
        this.rt.counters.c.dedupedReplies++;
        this.reply(d, hit.reply);
        return undefined;
      }
    }
    const h = this.def.handlers[env.msg.type] as ((t: Turn, m: ActorMessage) => unknown) | undefined;
    if (!h) {
      this.rt.fail(d, new UnknownMessage(this.def.name, env.msg.type));
      return undefined;
    }
    const t = new Turn(this, env.deadline, key);
    const start = this.rt.counters.turnStart();
    let r: unknown;
    try {
      r = h(t, env.msg);
    } catch (e) {
      this.failed(d, e, start);
      return undefined;
    }
    if (isThenable(r)) {
      return r.then(
        (v) => this.finish(d, t, v, start),
        (e) => this.failed(d, e, start),
      );
    }
    this.finish(d, t, r, start);
    return undefined;
  }

  private finish(d: Delivery, t: Turn, value: unknown, start: number): void {
    const s = this.rt.counters;
    s.turnEnd(start);
    s.c.messagesHandled++;
    if (this.status === 'dead') {
      // The state this turn ran on was discarded (a write failed): not applied, so retryable.
      this.rt.fail(d, new ActorUnavailable(`${this.def.name}/${this.id} was reset during the turn`));
      return;
    }
    const changed = t.commit();
    const key = d.env.idempotencyKey;
    const persisted = (this.def.persistence ?? 'turn') !== 'none';
    if (key !== undefined) {
      const at = d.keyAt ?? 0;
      this.looked?.delete(key);
      if (!persisted) this.keyCache().found(key, at, value);
      else {
        // The key goes into the key table with the write that holds this turn's change (a
        // turn that changed nothing still writes, so its key is remembered too).
        this.keyCache().add(key, at, value);
        (this.unsavedKeys ??= []).push({ key, at, reply: value });
      }
    }
    if (changed || (key !== undefined && persisted)) this.changed();
    this.reply(d, value);
  }

  private failed(d: Delivery, e: unknown, start: number): void {
    this.rt.counters.turnEnd(start);
    this.rt.counters.c.handlerFailures++;
    this.rt.fail(d, ActorHandlerError.from(e, `${this.def.name}.${d.env.msg.type}`));
  }

  /**
   * Drops this activation without saving. Callers waiting on unsaved state fail
   * with `err`; queued messages are routed again, or failed with `err` when
   * `failQueued` (the shard is not ours).
   */
  discard(err: unknown, failQueued: boolean): void {
    if (this.status === 'dead') return;
    this.die();
    this.failWaiters(err);
    for (let d = this.take(); d; d = this.take()) {
      if (failQueued) this.rt.fail(d, err);
      else this.rt.redispatch(d);
    }
    this.notifyQuiet();
  }

  private die(): void {
    this.status = 'dead';
    for (const t of this.timers?.values() ?? []) clearTimeout(t);
    this.timers = undefined;
    this.rt.removed(this);
  }

  private async load(): Promise<boolean> {
    const persisted = (this.def.persistence ?? 'turn') !== 'none';
    for (let attempt = 0; ; attempt++) {
      try {
        if (persisted) await this.rt.ensureFenced(this.shard, this.epoch);
        const stored = persisted ? await this.rt.store.load(this.def.name, this.id) : undefined;
        if (this.status === 'dead') return false;
        const doc = stored?.state as PersistedDoc | undefined;
        this.state = doc ? doc.state : this.def.initialState(this.id);
        this.version = stored?.version ?? 0;
        this.keysUpTo = typeof doc?.keysUpTo === 'number' ? doc.keysUpTo : 0;
        if (this.def.onActivate) await this.hook(this.def.onActivate);
        break;
      } catch (e) {
        this.rt.counters.c.activationFailures++;
        this.rt.report(e, { type: this.def.name, id: this.id, phase: 'activate', attempt });
        if (e instanceof StateRejected) {
          // The store can never hold this actor (its name): loading again would fail the same way.
          this.discard(e, true);
          return false;
        }
        if (e instanceof StaleEpoch) {
          this.discard(new ShardNotOwned(this.shard, { cause: e }), true);
          return false;
        }
        // Keep trying only while someone waits: messages whose deadline passed have been failed.
        while (this.queued > 0 && this.box?.[this.head]?.done) this.take();
        if (this.queued === 0 || this.status !== 'loading') {
          this.discard(
            new ActorUnavailable(`${this.def.name}/${this.id} did not activate`, { cause: e }),
            true,
          );
          return false;
        }
        const c = this.rt.config;
        await new Promise((r) => setTimeout(r, fullJitter(attempt, c.loadBackoffMs, c.loadBackoffCapMs)));
      }
    }
    this.rt.counters.c.activated++;
    if (this.status !== 'loading') return true; // stop() was called meanwhile; it takes over
    this.status = 'active';
    this.schedule();
    return true;
  }

  /** Runs an activate/passivate hook as a turn. */
  private async hook(fn: (ctx: Turn) => void | Promise<void>): Promise<void> {
    const t = new Turn(this, Number.POSITIVE_INFINITY, undefined);
    await fn(t);
    if (t.commit()) this.changed();
  }

  requestPassivation(): void {
    this.passivateAsked = true;
  }

  /**
   * Passivates: no new turns start (queued messages are routed again once it
   * is gone), the running turn finishes, onPassivate runs, pending state is
   * saved, then the activation leaves the system. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  private async runStop(): Promise<void> {
    if (this.status === 'dead') return;
    const wasLoading = this.status === 'loading';
    this.status = 'stopping';
    for (const t of this.timers?.values() ?? []) clearTimeout(t);
    this.timers = undefined;
    if (wasLoading && !(await this.loading)) return;
    if (!(await this.settleTurns())) {
      // A turn that outlives the grace time must not block a drain: drop what it did
      // (never acknowledged), keep what is committed.
      this.rt.report(new Error('turn still running at stop; activation dropped'), {
        type: this.def.name,
        id: this.id,
      });
      this.discard(new ActorUnavailable(`${this.def.name}/${this.id} stopped`), false);
      return;
    }
    if (this.def.onPassivate) {
      await this.hook(this.def.onPassivate).catch((e: unknown) =>
        this.rt.report(e, { type: this.def.name, id: this.id, phase: 'passivate' }),
      );
    }
    if (this.unsaved) this.dirty = true;
    this.flushWrite();
    while (this.writing && !this.isDead()) await this.waitQuiet();
    if (this.isDead()) return; // the final save failed: discard() rerouted everything
    this.rt.counters.c.passivated++;
    this.die();
    for (let d = this.take(); d; d = this.take()) this.rt.redispatch(d);
  }

  /** Waits for running turns to end, at most `stopGraceMs`; false if they did not. */
  private async settleTurns(): Promise<boolean> {
    const end = Date.now() + this.rt.config.stopGraceMs;
    while (this.running > 0) {
      const left = end - Date.now();
      if (left <= 0) return false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.waitQuiet(), new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    return true;
  }

  /** A method, not an inline comparison: the status changes across awaits, which narrowing ignores. */
  private isDead(): boolean {
    return this.status === 'dead';
  }

  private waitQuiet(): Promise<void> {
    return new Promise((r) => (this.quiet ??= []).push(r));
  }

  protected afterWrite(): void {
    if (this.careful) this.schedule();
  }

  protected notifyQuiet(): void {
    const q = this.quiet;
    this.quiet = undefined;
    for (const f of q ?? []) f();
  }

  setTimer(name: string, delayMs: number, msg: ActorMessage, repeat: boolean): void {
    if (this.status === 'dead' || this.status === 'stopping') return;
    this.cancelTimer(name);
    const fire = () => {
      if (!repeat) this.timers?.delete(name);
      if (this.status === 'active') this.enqueue(this.rt.timerMessage(this, msg));
    };
    const t = repeat ? setInterval(fire, delayMs) : setTimeout(fire, delayMs);
    t.unref?.(); // timers never keep a process alive
    (this.timers ??= new Map()).set(name, t);
  }

  cancelTimer(name: string): void {
    const t = this.timers?.get(name);
    if (t === undefined) return;
    clearTimeout(t);
    this.timers?.delete(name);
  }
}

function isThenable(x: unknown): x is Thenable {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}
