import {
  type EvMessage,
  isValidStreamName,
  ShutterError,
  type StreamPosition,
  type SubscribeResult,
} from '@shutter/protocol/wire';
import { Backoff, type BackoffOptions } from './backoff.js';
import { Emitter, invokeSafely } from './emitter.js';
import type { Outcome, RequestManager } from './requests.js';
import { StreamCursor } from './stream-cursor.js';
import {
  type StreamHandler,
  type SubscribeOptions,
  Subscription,
  type SubscriptionEvents,
  type SubscriptionState,
} from './subscription.js';

interface Rec {
  readonly stream: string;
  readonly handler: StreamHandler;
  readonly options: SubscribeOptions;
  readonly events: Emitter<SubscriptionEvents>;
  readonly cursor: StreamCursor;
  readonly backoff: Backoff;
  readonly sub: Subscription;
  state: SubscriptionState;
  /** Bumped on every sub/unsub sent and on disconnect; answers to older attempts are ignored. */
  attempt: number;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Events past a hole, by seq, waiting up to `reorderWindowMs` for the hole to fill. */
  readonly held: Map<number, EvMessage>;
  holdTimer: ReturnType<typeof setTimeout> | undefined;
  /** Renews a leased subscription (its `sub` answer had `leaseMs`) at half the lease, while subscribed. */
  renewTimer: ReturnType<typeof setTimeout> | undefined;
}

export interface RegistryDeps {
  requests: RequestManager;
  isConnected(): boolean;
  timeoutMs: number;
  backoff: BackoffOptions;
  random: () => number;
  /**
   * How long events after a hole are held waiting for the missing ones before
   * resubscribing (protocol §6.5: concurrent writers can reorder events); 0
   * resubscribes at once.
   */
  reorderWindowMs: number;
  /** Permanent subscription failures, for the client's `error` event. */
  reportError(error: ShutterError): void;
}

/** At most this many events are held per stream; one more means resubscribe. */
const MAX_HELD = 256;

const RESYNC_CODES = new Set(['timeout', 'already_subscribed']);

/**
 * Every subscription of a client: sends `sub` with the last position on each
 * (re)connect, routes `ev` frames through each stream's cursor, and on a gap
 * unsubscribes and subscribes again from the last delivered position, so the
 * handler sees each event once and in order, or hears `refetch`.
 */
export class SubscriptionRegistry {
  readonly #deps: RegistryDeps;
  readonly #records = new Map<string, Rec>();

  constructor(deps: RegistryDeps) {
    this.#deps = deps;
  }

  get(stream: string): Subscription | undefined {
    return this.#records.get(stream)?.sub;
  }

  all(): Subscription[] {
    return [...this.#records.values()].map((r) => r.sub);
  }

  add(stream: string, handler: StreamHandler, options: SubscribeOptions): Subscription {
    if (!isValidStreamName(stream))
      throw new ShutterError('invalid_stream', `invalid stream name ${JSON.stringify(stream)}`);
    if (this.#records.has(stream))
      throw new ShutterError('already_subscribed', `already subscribed to ${stream}`);
    const events = new Emitter<SubscriptionEvents>();
    const rec: Rec = {
      stream,
      handler,
      options,
      events,
      cursor: new StreamCursor(options.from),
      backoff: new Backoff(this.#deps.backoff, this.#deps.random),
      state: 'subscribing',
      attempt: 0,
      retryTimer: undefined,
      held: new Map(),
      holdTimer: undefined,
      renewTimer: undefined,
      sub: new Subscription(
        stream,
        {
          state: () => rec.state,
          position: () => rec.cursor.position,
          unsubscribe: () => this.#remove(rec),
        },
        events,
      ),
    };
    this.#records.set(stream, rec);
    this.#subscribe(rec);
    return rec.sub;
  }

  /** The client is authenticated on a new connection: resume every subscription. */
  resumeAll(): void {
    for (const rec of this.#records.values()) this.#subscribe(rec);
  }

  /** The server ended a leased subscription it was not renewed in time (`lease_expired`): subscribe again. */
  lapsed(stream: string): void {
    const rec = this.#records.get(stream);
    if (rec?.state === 'subscribed') this.#subscribe(rec);
  }

  /** Renews a leased subscription at half its lease: `sub` again, whose answer sets the next renewal. */
  #renewIn(rec: Rec, leaseMs: number | undefined): void {
    clearTimeout(rec.renewTimer);
    if (!leaseMs) return;
    rec.renewTimer = setTimeout(() => {
      const attempt = rec.attempt;
      this.#deps.requests.sendNow({
        build: (id) => ({ t: 'sub', id, stream: rec.stream }),
        resend: false,
        timeoutMs: this.#deps.timeoutMs,
        settle: (o) => {
          if (rec.attempt !== attempt || rec.state !== 'subscribed') return;
          // Refused or lost: subscribe again from the position (a refusal then ends it).
          if (o.ok) this.#renewIn(rec, (o.result as { leaseMs?: number }).leaseMs);
          else this.#resync(rec);
        },
      });
    }, leaseMs / 2);
  }

  /** The connection is gone: answers in flight are void; everything waits for the next welcome. */
  onDisconnected(): void {
    for (const rec of this.#records.values()) {
      clearTimeout(rec.retryTimer);
      this.#dropHeld(rec);
      rec.attempt += 1;
      this.#setState(rec, 'subscribing');
    }
  }

  handleEvent(ev: EvMessage): void {
    const rec = this.#records.get(ev.stream);
    // Events before the `sub` answer belong to an older subscription: the
    // server sends the answer before any event of the new one.
    if (rec?.state !== 'subscribed') return;
    switch (rec.cursor.accept(ev)) {
      case 'deliver':
        this.#deliver(rec, ev);
        this.#drainHeld(rec);
        return;
      case 'duplicate':
        return;
      case 'gap':
        if (!this.#hold(rec, ev)) this.#resync(rec);
        return;
    }
  }

  #deliver(rec: Rec, ev: EvMessage): void {
    invokeSafely(rec.handler, { stream: ev.stream, epoch: ev.epoch, seq: ev.seq, data: ev.data, ts: ev.ts });
  }

  /** Holds an event past a hole in the same epoch; false when it must resubscribe instead. */
  #hold(rec: Rec, ev: EvMessage): boolean {
    const window = this.#deps.reorderWindowMs;
    if (!(window > 0) || rec.cursor.position?.epoch !== ev.epoch || rec.held.size >= MAX_HELD) return false;
    rec.held.set(ev.seq, ev);
    rec.holdTimer ??= setTimeout(() => {
      rec.holdTimer = undefined;
      this.#resync(rec);
    }, window);
    return true;
  }

  /** Delivers held events that have become next in line; stops the wait once nothing is held. */
  #drainHeld(rec: Rec): void {
    if (rec.held.size === 0) return;
    for (;;) {
      const seq = (rec.cursor.position?.seq ?? 0) + 1;
      const next = rec.held.get(seq);
      if (!next) break;
      rec.held.delete(seq);
      if (rec.cursor.accept(next) === 'deliver') this.#deliver(rec, next);
    }
    const last = rec.cursor.position?.seq ?? 0;
    for (const seq of rec.held.keys()) if (seq <= last) rec.held.delete(seq);
    if (rec.held.size === 0) this.#dropHeld(rec);
  }

  #dropHeld(rec: Rec): void {
    clearTimeout(rec.holdTimer);
    rec.holdTimer = undefined;
    rec.held.clear();
  }

  #subscribe(rec: Rec): void {
    clearTimeout(rec.retryTimer);
    if (rec.state === 'unsubscribed') return;
    this.#setState(rec, 'subscribing');
    if (!this.#deps.isConnected()) return;
    const attempt = ++rec.attempt;
    const from: StreamPosition | undefined = rec.cursor.position;
    this.#deps.requests.sendNow({
      build: (id) =>
        from ? { t: 'sub', id, stream: rec.stream, from } : { t: 'sub', id, stream: rec.stream },
      resend: false,
      timeoutMs: this.#deps.timeoutMs,
      settle: (outcome) => this.#onSubscribed(rec, attempt, outcome),
    });
  }

  /** Unsubscribe, then subscribe again from the last delivered position. */
  #resync(rec: Rec): void {
    this.#dropHeld(rec);
    this.#setState(rec, 'subscribing');
    if (!this.#deps.isConnected()) return;
    const attempt = ++rec.attempt;
    this.#deps.requests.sendNow({
      build: (id) => ({ t: 'unsub', id, stream: rec.stream }),
      resend: false,
      timeoutMs: this.#deps.timeoutMs,
      // Whatever the answer (not_subscribed is fine), subscribe again.
      settle: () => {
        if (rec.attempt === attempt) this.#subscribe(rec);
      },
    });
  }

  #onSubscribed(rec: Rec, attempt: number, outcome: Outcome): void {
    if (rec.attempt !== attempt || rec.state === 'unsubscribed') return;
    if (!outcome.ok) {
      this.#onSubscribeError(rec, outcome.error);
      return;
    }
    const result = outcome.result as SubscribeResult;
    if (!isSubscribeResult(result)) {
      // Start over (`renewed`: the server held a leased subscription this one did not know of).
      this.#resync(rec);
      return;
    }
    const verdict = rec.cursor.applyResult(result);
    rec.backoff.reset();
    this.#setState(rec, 'subscribed');
    this.#renewIn(rec, result.leaseMs);
    rec.events.emit('subscribed', {
      status: result.status,
      epoch: result.epoch,
      seq: result.seq,
      missed: result.missed,
    });
    if (verdict.kind === 'refetch') {
      const info = { stream: rec.stream, epoch: result.epoch, seq: result.seq, previous: verdict.previous };
      if (rec.options.onRefetch) invokeSafely(rec.options.onRefetch, info);
      rec.events.emit('refetch', info);
    }
  }

  #onSubscribeError(rec: Rec, error: ShutterError): void {
    if (error.code === 'disconnected') return; // resumed after the next welcome
    if (RESYNC_CODES.has(error.code)) {
      // The server may hold the subscription after all: clear it first.
      this.#resync(rec);
    } else if (error.retryable) {
      this.#retryLater(rec, error.retryAfterMs);
    } else {
      this.#end(rec);
      if (rec.options.onError) invokeSafely(rec.options.onError, error);
      rec.events.emit('error', error);
      this.#deps.reportError(error);
    }
  }

  #retryLater(rec: Rec, retryAfterMs: number | undefined): void {
    const delay = retryAfterMs ?? rec.backoff.next();
    rec.retryTimer = setTimeout(() => this.#subscribe(rec), delay);
  }

  #remove(rec: Rec): Promise<void> {
    if (rec.state === 'unsubscribed') return Promise.resolve();
    this.#end(rec);
    if (!this.#deps.isConnected()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#deps.requests.sendNow({
        build: (id) => ({ t: 'unsub', id, stream: rec.stream }),
        resend: false,
        timeoutMs: this.#deps.timeoutMs,
        settle: () => resolve(),
      });
    });
  }

  #end(rec: Rec): void {
    clearTimeout(rec.retryTimer);
    this.#dropHeld(rec);
    rec.attempt += 1;
    if (this.#records.get(rec.stream) === rec) this.#records.delete(rec.stream);
    this.#setState(rec, 'unsubscribed');
  }

  #setState(rec: Rec, state: SubscriptionState): void {
    if (rec.state === state || rec.state === 'unsubscribed') return;
    clearTimeout(rec.renewTimer);
    const previous = rec.state;
    rec.state = state;
    rec.events.emit('state', { state, previous });
  }
}

function isSubscribeResult(v: unknown): v is SubscribeResult {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.epoch === 'string' &&
    Number.isInteger(r.seq) &&
    Number.isInteger(r.missed) &&
    (r.status === 'fresh' || r.status === 'recovered' || r.status === 'refetch')
  );
}
