import { type ClientMessage, type ErrMessage, ShutterError } from '@shutter/protocol/wire';
import type { SendResult } from './connection.js';
import { disconnectedError, ServerError, timeoutError } from './errors.js';

export type Outcome = { ok: true; result: unknown } | { ok: false; error: ShutterError };

export interface RequestSpec {
  /** Builds the frame for one send; called again, with a new id, for every resend. */
  build(id: number): ClientMessage;
  /**
   * Survives a lost connection: it waits in the outbox and is sent again after
   * the next welcome. Only for requests the server applies at most once
   * (they carry an idempotency key).
   */
  resend: boolean;
  timeoutMs: number;
  /** Called exactly once, synchronously from the frame that settles it. */
  settle(outcome: Outcome): void;
}

interface Entry extends RequestSpec {
  id: number | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

const MAX_ID = 2_147_483_647;

/**
 * Requests of one client across its connections: ids, timeouts, answers,
 * and the offline outbox. Not-yet-sent requests wait in the outbox while
 * there is no connection (bounded); sent ones either fail with
 * `disconnected` when the socket drops or, if `resend`, go back to the
 * front of the outbox.
 */
export class RequestManager {
  readonly #outboxLimit: number;
  readonly #pending = new Map<number, Entry>();
  #outbox: Entry[] = [];
  #send: ((message: ClientMessage) => SendResult) | undefined;
  #nextId = 1;
  #pauseTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(outboxLimit: number) {
    this.#outboxLimit = outboxLimit;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  get queued(): number {
    return this.#outbox.length;
  }

  /** An app request: sent now when connected, otherwise queued in the outbox. */
  enqueue(spec: RequestSpec): void {
    const entry = this.#entry(spec);
    if (this.#send && this.#pauseTimer === undefined) {
      this.#transmit(entry);
    } else if (this.#outbox.length >= this.#outboxLimit) {
      this.#settle(entry, {
        ok: false,
        error: disconnectedError('offline outbox is full', { outbox: 'full' }),
      });
    } else {
      this.#outbox.push(entry);
    }
  }

  /** A control frame (sub, unsub, auth): only on an open connection, never queued. */
  sendNow(spec: RequestSpec): void {
    const entry = this.#entry(spec);
    if (this.#send) this.#transmit(entry);
    else this.#settle(entry, { ok: false, error: disconnectedError('not connected') });
  }

  /** A connection is authenticated: send through it from now on. */
  attach(send: (message: ClientMessage) => SendResult): void {
    this.#send = send;
  }

  /** Sends what waited in the outbox, in order (after `attach`). */
  flush(): void {
    if (!this.#send || this.#pauseTimer !== undefined) return;
    const queued = this.#outbox;
    this.#outbox = [];
    for (const entry of queued) if (!entry.done) this.#transmit(entry);
  }

  /**
   * After a `rate_limited` error: app requests wait in the outbox for `ms`,
   * then go out in order (protocol §11.2: send only what keeps the
   * connection alive meanwhile). Control frames are not held.
   */
  pauseFor(ms: number): void {
    if (!(ms > 0)) return;
    clearTimeout(this.#pauseTimer);
    this.#pauseTimer = setTimeout(() => {
      this.#pauseTimer = undefined;
      this.flush();
    }, ms);
  }

  /** The connection is gone: resendable in-flight requests go back to the outbox, the rest fail. */
  detach(): void {
    this.#send = undefined;
    const inFlight = [...this.#pending.values()];
    this.#pending.clear();
    const back: Entry[] = [];
    for (const entry of inFlight) {
      entry.id = undefined;
      if (entry.resend) back.push(entry);
      else this.#settle(entry, { ok: false, error: disconnectedError() });
    }
    this.#outbox = [...back, ...this.#outbox];
  }

  /** The client stopped: everything in flight or queued fails with `error`. */
  failAll(error: ShutterError): void {
    this.#send = undefined;
    clearTimeout(this.#pauseTimer);
    this.#pauseTimer = undefined;
    const all = [...this.#pending.values(), ...this.#outbox];
    this.#pending.clear();
    this.#outbox = [];
    for (const entry of all) this.#settle(entry, { ok: false, error });
  }

  /** A `res` frame; false when no request with that id is in flight (late answer after a timeout). */
  resolve(id: number, result: unknown): boolean {
    const entry = this.#pending.get(id);
    if (!entry) return false;
    this.#pending.delete(id);
    this.#settle(entry, { ok: true, result });
    return true;
  }

  /** An `err` frame carrying an id. */
  reject(frame: ErrMessage & { id: number }): boolean {
    const entry = this.#pending.get(frame.id);
    if (!entry) return false;
    this.#pending.delete(frame.id);
    this.#settle(entry, { ok: false, error: new ServerError(frame) });
    return true;
  }

  #entry(spec: RequestSpec): Entry {
    const entry: Entry = { ...spec, id: undefined, timer: undefined, done: false };
    if (Number.isFinite(spec.timeoutMs) && spec.timeoutMs > 0) {
      // The deadline covers the whole life of the call, time in the outbox included.
      entry.timer = setTimeout(() => this.#expire(entry), spec.timeoutMs);
    }
    return entry;
  }

  #transmit(entry: Entry): void {
    const id = this.#allocateId();
    entry.id = id;
    this.#pending.set(id, entry);
    // `closed` means the socket is closing; detach() will handle the entry.
    if (this.#send?.(entry.build(id)) === 'too_large') {
      this.#pending.delete(id);
      const error = new ShutterError(
        'frame_too_large',
        'the request is larger than the server accepts (maxFrameBytes)',
      );
      this.#settle(entry, { ok: false, error });
    }
  }

  #expire(entry: Entry): void {
    if (entry.done) return;
    if (entry.id !== undefined) this.#pending.delete(entry.id);
    this.#outbox = this.#outbox.filter((e) => e !== entry);
    this.#settle(entry, { ok: false, error: timeoutError(entry.timeoutMs) });
  }

  #allocateId(): number {
    for (;;) {
      const id = this.#nextId;
      this.#nextId = id >= MAX_ID ? 1 : id + 1;
      if (!this.#pending.has(id)) return id;
    }
  }

  #settle(entry: Entry, outcome: Outcome): void {
    if (entry.done) return;
    entry.done = true;
    clearTimeout(entry.timer);
    entry.settle(outcome);
  }
}
