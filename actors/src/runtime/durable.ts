import type { Activation } from './activation.js';
import type { AnyActorType } from './actor-type.js';
import type { Delivery } from './delivery.js';
import { ActorUnavailable, StaleEpoch, StateRejected } from './errors.js';
import type { GroupCommit } from './group-commit.js';
import type { ActorMessage } from './placement.js';
import type { ActorSystemApi } from './ref.js';
import type { KeyCache } from './replies.js';
import type { KeyRecord, SaveOutcome, StateStore, StateWrite } from './state-store.js';
import type { StatsRecorder } from './stats.js';

/**
 * What the runtime persists per actor: the actor's state and the latest key
 * time ever committed for it (`keysUpTo`; the keys themselves are in the
 * store's key table). `replies` is what runtimes before the key table kept
 * (up to 256 keys in the document); it is read by nobody and dropped at the
 * next save.
 */
export interface PersistedDoc {
  state: unknown;
  keysUpTo?: number;
  replies?: unknown;
}

/** What an activation needs from its system (implemented by `ActorSystem`). */
export interface ActivationRuntime {
  readonly api: ActorSystemApi;
  readonly counters: StatsRecorder;
  readonly store: StateStore;
  readonly writer: GroupCommit<StateWrite, SaveOutcome>;
  readonly config: {
    windowMs: number;
    maxKeys: number;
    loadBackoffMs: number;
    loadBackoffCapMs: number;
    stopGraceMs: number;
  };
  ensureFenced(shard: number, epoch: number): Promise<void>;
  /** A write was fenced out: the next activation in the shard must fence again (and will learn it lost). */
  forgetFence(shard: number): void;
  /** Settles a failed delivery: routes it again if retryable and routable, else rejects it. */
  fail(d: Delivery, err: unknown): void;
  /** Routes a delivery again from the start (its activation went away before running it). */
  redispatch(d: Delivery): void;
  /** Queues the activation for the system's next drain pass. */
  ready(a: Activation): void;
  /** Drops a dead activation from the system's maps. */
  removed(a: Activation): void;
  /**
   * A write of this actor holding several turns was refused (`state_rejected`):
   * its next activations write one turn at a time for a while, so the turn at
   * fault fails alone.
   */
  suspect(type: string, id: string): void;
  isSuspect(type: string, id: string): boolean;
  report(err: unknown, context: Record<string, unknown>): void;
  timerMessage(a: Activation, msg: ActorMessage): Delivery;
}

export type Status = 'loading' | 'active' | 'stopping' | 'dead';

interface Waiter {
  d: Delivery;
  value: unknown;
}

/**
 * The durable half of an activation: its state, version and the writes in
 * flight (`Activation` adds the mailbox, turns and lifecycle).
 *
 * A turn's state is applied in memory when the handler returns and the next
 * turn may run at once, but its reply (and the reply of any later turn, which
 * has seen that state) is released only after the write holding that state
 * commits. Writes of turns that finish while a write is in flight coalesce
 * into the next one: one write per actor in flight, many actors per
 * transaction (`GroupCommit`). If a write fails the activation is discarded:
 * uncommitted state is dropped and waiting callers fail with a retryable
 * `actor_unavailable`, so their messages are routed again to a fresh
 * activation that reloads the last committed state.
 */
export abstract class DurableState {
  state: unknown;
  version = 0;
  status: Status = 'loading';
  /** Recent keys and the lookup horizon (created on the first keyed message). */
  protected keys: KeyCache | undefined;
  /** The latest key time committed for this actor (persisted); the horizon starts here. */
  protected keysUpTo = 0;
  /** Keys of turns applied since the last write began, and of the write in flight. */
  protected unsavedKeys: KeyRecord[] | undefined;
  private writingKeys: KeyRecord[] | undefined;
  protected writing: Waiter[] | undefined;
  protected pending: Waiter[] | undefined;
  protected dirty = false;
  protected unsaved = false;
  private flushScheduled = false;

  constructor(
    protected readonly rt: ActivationRuntime,
    readonly def: AnyActorType,
    readonly id: string,
    readonly shard: number,
    readonly epoch: number,
  ) {}

  abstract discard(err: unknown, failQueued: boolean): void;
  protected abstract notifyQuiet(): void;

  protected changed(): void {
    const p = this.def.persistence ?? 'turn';
    if (p === 'turn') {
      this.dirty = true;
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // A microtask later: turns that finish in the same tick share one write.
        queueMicrotask(() => {
          this.flushScheduled = false;
          this.flushWrite();
        });
      }
    } else if (p === 'passivation') {
      this.unsaved = true;
    }
  }

  /** Releases a reply once the state it observed is durable. */
  protected reply(d: Delivery, value: unknown): void {
    if (d.env.kind === 'tell' || (!this.writing && !this.dirty)) d.resolve(value);
    else if (this.dirty) (this.pending ??= []).push({ d, value });
    else this.writing?.push({ d, value });
  }

  protected flushWrite(): void {
    if (this.writing || !this.dirty || this.status === 'dead') return;
    this.dirty = false;
    const waiters = this.pending ?? [];
    this.pending = undefined;
    this.writing = waiters;
    const doc: PersistedDoc = { state: this.state };
    const keys = this.unsavedKeys;
    this.unsavedKeys = undefined;
    this.writingKeys = keys;
    if (keys) for (const k of keys) if (k.at > this.keysUpTo) this.keysUpTo = k.at;
    if (this.keysUpTo > 0) doc.keysUpTo = this.keysUpTo;
    this.rt.counters.c.stateWrites++;
    const write: StateWrite = {
      type: this.def.name,
      id: this.id,
      shard: this.shard,
      epoch: this.epoch,
      state: doc,
      expectedVersion: this.version,
    };
    if (keys) write.keys = keys;
    this.rt.writer.submit(write).then(
      (o) => (o.ok ? this.written(o.version) : this.writeFailed(o.error)),
      (e) => this.writeFailed(e),
    );
  }

  private written(version: number): void {
    if (this.status === 'dead') return;
    this.version = version;
    if (this.writingKeys) this.keys?.committed(this.writingKeys);
    this.writingKeys = undefined;
    const w = this.writing ?? [];
    this.writing = undefined;
    for (const x of w) x.d.resolve(x.value);
    this.flushWrite();
    this.notifyQuiet();
    this.afterWrite();
  }

  /** Called after each committed write (a careful activation resumes its mailbox). */
  protected abstract afterWrite(): void;

  private writeFailed(e: unknown): void {
    if (this.status === 'dead') return;
    this.rt.counters.c.stateWriteFailures++;
    if (e instanceof StaleEpoch) this.rt.forgetFence(this.shard);
    this.rt.report(e, { type: this.def.name, id: this.id, phase: 'save' });
    if (e instanceof StateRejected) return this.rejected(e);
    this.discard(
      new ActorUnavailable(`state of ${this.def.name}/${this.id} was not saved`, { cause: e }),
      false,
    );
  }

  /**
   * The store refused this write for good. If it held one turn's change, that
   * turn's caller gets the (non-retryable) rejection: sending it again would
   * fail the same way. If it held several, which one is at fault is unknown:
   * they all fail retryably, and the actor's next activation writes one turn
   * at a time (`careful`), so the retries sort the bad one out.
   */
  private rejected(e: StateRejected): void {
    this.rt.counters.c.stateWritesRejected++;
    const writing = this.writing ?? [];
    if (writing.length === 1) {
      const [only] = writing;
      this.writing = [];
      if (this.pending && this.pending.length > 0) this.rt.suspect(this.def.name, this.id);
      this.discard(
        new ActorUnavailable(`state of ${this.def.name}/${this.id} was not saved`, { cause: e }),
        false,
      );
      if (only) this.rt.fail(only.d, e);
      return;
    }
    if (writing.length > 1) this.rt.suspect(this.def.name, this.id);
    this.discard(
      new ActorUnavailable(`state of ${this.def.name}/${this.id} was not saved`, { cause: e }),
      false,
    );
  }

  /** Fails every caller waiting on unsaved state (the activation is being dropped). */
  protected failWaiters(err: unknown): void {
    const waiters = [...(this.writing ?? []), ...(this.pending ?? [])];
    this.writing = this.pending = undefined;
    this.dirty = false;
    for (const w of waiters) this.rt.fail(w.d, err);
  }
}
