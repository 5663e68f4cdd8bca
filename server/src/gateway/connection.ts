import {
  type ClientMessage,
  CloseCode,
  type CloseName,
  type Codec,
  type ErrMessage,
  type Frame,
  formatCloseReason,
  type ServerMessage,
  ShutterError,
} from '@shutter/protocol';
import { readClientFrame } from '@shutter/protocol/validate';
import type { PublicError } from '../errors.js';
import type { HubMember } from '../streams/stream-hub.js';
import type { LeaseHolder, StreamLease } from './authorize.js';
import type { EngineSocket, SocketHandler } from './engine.js';
import type { ConnectionHost } from './host.js';
import { type BucketState, takeToken } from './token-bucket.js';

enum State {
  AwaitingHello = 0,
  Authenticating = 1,
  Open = 2,
  Closed = 3,
}

const BAD_FRAME_WINDOW_MS = 60_000;

function isOtherVersionHello(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { t?: unknown }).t === 'hello' &&
    (v as { v?: unknown }).v !== 1
  );
}

/** Who a connection is, once `hello` was verified. */
export interface ConnectionIdentity {
  userId: string;
  session: string;
  expiresAt: number;
}

/** A leased subscription of a connection: held until `until` (ms) unless renewed. */
export interface HeldLease {
  readonly until: number;
  readonly lease: StreamLease;
  /** A direct lease's own epoch and the seq of the last event pushed (kept across renewals). */
  direct?: { readonly epoch: string; seq: number };
}

/**
 * One client socket: the protocol state machine (hello → open → closed),
 * frame decoding and validation, rate limits, its token's expiry and its
 * subscriptions. It owns all of that state: the gateway and the
 * subscription handler read it and change it only through the methods
 * below. Kept small on purpose: an idle connection is one of these plus its
 * socket.
 */
export class Connection implements SocketHandler, HubMember, BucketState, LeaseHolder {
  private state = State.AwaitingHello;
  #userId = '';
  #session = '';
  #expiresAt = 0;
  #noticeSent = false;
  /** Last inbound frame (or the open, before any): drives the auth and idle timeouts. */
  private lastIn: number;
  /** The per-connection frame bucket, inline (see `takeToken`). */
  tokens: number;
  tokensAt: number;
  private badFrames = 0;
  private badSince = 0;
  private limitedStrikes = 0;
  /** Streams this connection is subscribed to, with the id of the `sub` that did it. */
  private subs: Map<string, number> | undefined;
  /** The leased ones among `subs` (a view of a post…), checked by `tick`. */
  private leases: Map<string, HeldLease> | undefined;
  /** Per stream, the tail of this connection's queued `sub`/`unsub` operations. */
  private chains: Map<string, Promise<void>> | undefined;

  constructor(
    readonly sock: EngineSocket,
    readonly codec: Codec,
    private readonly gw: ConnectionHost,
    now: number,
  ) {
    this.lastIn = now;
    this.tokens = gw.limits.connBurst;
    this.tokensAt = now;
  }

  get userId(): string {
    return this.#userId;
  }

  get session(): string {
    return this.#session;
  }

  get expiresAt(): number {
    return this.#expiresAt;
  }

  get isOpen(): boolean {
    return this.state !== State.Closed;
  }

  get authenticated(): boolean {
    return this.state === State.Open;
  }

  // ---- engine callbacks ----------------------------------------------------

  onMessage(frame: Frame, size: number): void {
    if (this.state === State.Closed) return;
    const now = this.gw.now();
    this.lastIn = now;
    this.gw.counters.framesIn++;
    if (size > this.gw.limits.maxFrameBytes) {
      this.sendError(
        undefined,
        new ShutterError('frame_too_large', `frames are limited to ${this.gw.limits.maxFrameBytes} bytes`),
      );
      return this.close('frame_too_large');
    }
    const v = readClientFrame(this.codec, frame);
    if (!v.ok) {
      if (this.state === State.AwaitingHello && isOtherVersionHello(v.decoded)) {
        this.sendError(undefined, new ShutterError('bad_request', 'this server speaks protocol version 1'));
        return this.close('unsupported_protocol');
      }
      return this.badFrame(v.id, new ShutterError(v.code, v.message));
    }
    // Rate-limited after decoding so the answer carries the request's id.
    const wait = takeToken(this, now, this.gw.limits.connRate, this.gw.limits.connBurst);
    if (wait > 0) return this.rateLimited('id' in v.value ? v.value.id : undefined, wait);
    this.limitedStrikes = 0;
    this.dispatch(v.value);
  }

  onClose(code?: number | string): void {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    this.gw.connectionClosed(this, code);
  }

  onBackpressure(): void {
    this.gw.counters.slowConsumers++;
    this.close('slow_consumer');
  }

  // ---- HubMember -------------------------------------------------------------

  sendFrame(frame: Frame): void {
    this.sock.send(frame);
  }

  joinTopic(topic: string): void {
    this.sock.join(topic);
  }

  leaveTopic(topic: string): void {
    this.sock.leave(topic);
  }

  // ---- protocol ----------------------------------------------------------------

  private dispatch(msg: ClientMessage): void {
    if (this.state === State.AwaitingHello) {
      if (msg.t !== 'hello') {
        this.sendError(undefined, new ShutterError('unauthenticated', 'the first frame must be hello'));
        return this.close('protocol_error');
      }
      this.state = State.Authenticating;
      this.gw.hello(this, msg);
      return;
    }
    if (this.state === State.Authenticating) {
      return this.badFrame(
        undefined,
        new ShutterError('unauthenticated', 'wait for welcome before sending more frames'),
      );
    }
    switch (msg.t) {
      case 'hello':
        return this.badFrame(
          undefined,
          new ShutterError('bad_request', 'hello was already sent; use auth to refresh the token'),
        );
      case 'ping':
        return this.send({ t: 'pong' });
      case 'auth':
      case 'req':
      case 'sub':
      case 'unsub': {
        const wait = this.gw.takeUserToken(this.userId);
        if (wait > 0) return this.rateLimited(msg.id, wait);
        if (msg.t === 'auth') return this.gw.reauth(this, msg);
        if (msg.t === 'req') return this.gw.request(this, msg);
        if (msg.t === 'sub') return this.gw.subscribe(this, msg);
        return this.gw.unsubscribe(this, msg);
      }
      default: {
        const never: never = msg;
        return never;
      }
    }
  }

  /**
   * `hello` was verified: the connection opens as `identity` and sends
   * `welcome`. False (nothing done) when it closed while the token was checked.
   */
  open(identity: ConnectionIdentity, welcome: ServerMessage): boolean {
    if (this.state !== State.Authenticating) return false;
    this.#userId = identity.userId;
    this.#session = identity.session;
    this.#expiresAt = identity.expiresAt;
    this.state = State.Open;
    this.send(welcome);
    return true;
  }

  /** A re-`auth` for the same user was verified: the session lives until `expiresAt`, noticed again before it. */
  extend(expiresAt: number): void {
    this.#expiresAt = expiresAt;
    this.#noticeSent = false;
  }

  /** Closes it when `hello` is overdue (every 250 ms for connections still owing it). */
  checkHello(now: number): void {
    if (this.state !== State.Closed && now - this.lastIn > this.gw.limits.authTimeoutMs)
      this.close('auth_timeout');
  }

  /**
   * The once-a-second check of an open connection: idle timeout, token
   * expiry (closed) and its notice (sent once, `TOKEN_NOTICE_MS` before),
   * and a send buffer past its bound (slow consumer, uWS).
   */
  tick(now: number): void {
    if (this.state !== State.Open) return;
    const l = this.gw.limits;
    if (now - this.lastIn > l.idleTimeoutMs) return this.close('idle_timeout');
    if (now >= this.#expiresAt) {
      this.sendError(
        undefined,
        new ShutterError('token_expired', 'the token expired; reconnect with a fresh one'),
      );
      return this.close('token_expired');
    }
    if (!this.#noticeSent && this.#expiresAt - now <= l.tokenNoticeMs) {
      this.#noticeSent = true;
      this.send({ t: 'notice', kind: 'token_expiring', expiresAt: this.#expiresAt });
    }
    // Its own check: a tick that sends a notice must not skip a slow consumer.
    if (this.sock.bufferedAmount() > l.sendBufferBytes) return this.onBackpressure();
    // The host ends each in the stream's order of operations, after a renewal already queued.
    if (this.leases) for (const [s, held] of this.leases) if (now >= held.until) this.gw.leaseLapsed(this, s);
  }

  // ---- subscriptions (the state; `Subscriptions` holds the rules) --------------

  isSubscribed(stream: string): boolean {
    return this.subs?.has(stream) ?? false;
  }

  get subscriptionCount(): number {
    return this.subs?.size ?? 0;
  }

  /** Adds a subscription; with `lease`, one that lapses unless renewed (`renewLease`). */
  addSubscription(stream: string, subId: number, lease?: HeldLease): void {
    (this.subs ??= new Map()).set(stream, subId);
    if (lease) this.renewLease(stream, lease);
  }

  /** The lease a subscription is held under, if it is a leased one. */
  leaseOf(stream: string): HeldLease | undefined {
    return this.leases?.get(stream);
  }

  renewLease(stream: string, lease: HeldLease): void {
    const leases = (this.leases ??= new Map());
    const direct = leases.get(stream)?.direct;
    leases.set(stream, direct && !lease.direct ? { ...lease, direct } : lease);
  }

  /** The next `ev` of a direct leased stream, to this connection alone (`LeaseHolder.push`). */
  push(stream: string, data: unknown): boolean {
    const d = this.leases?.get(stream)?.direct;
    if (!d || this.state !== State.Open) return false;
    d.seq++;
    this.send({ t: 'ev', stream, epoch: d.epoch, seq: d.seq, data, ts: this.gw.now() });
    return true;
  }

  /** False when it was not subscribed. */
  removeSubscription(stream: string): boolean {
    if (this.leases?.delete(stream) && this.leases.size === 0) this.leases = undefined;
    return this.subs?.delete(stream) ?? false;
  }

  subscribedStreams(): Iterable<string> {
    return this.subs?.keys() ?? [];
  }

  /** Runs `op` after every earlier queued operation on `stream` of this connection. */
  serial(stream: string, op: () => Promise<void>): void {
    const chains = (this.chains ??= new Map());
    const next = (chains.get(stream) ?? Promise.resolve()).then(op);
    chains.set(stream, next);
    void next.finally(() => {
      if (chains.get(stream) === next) chains.delete(stream);
    });
  }

  send(msg: ServerMessage): void {
    if (this.state === State.Closed) return;
    this.sock.send(this.codec.encode(msg));
  }

  /**
   * Sends an `err` frame, its fields in the order of protocol.md §3.3 (`id`
   * right after `t`, as in the §14 example); empty `details` are left out.
   */
  sendError(id: number | undefined, err: ShutterError | PublicError): void {
    const m: ErrMessage =
      id === undefined
        ? { t: 'err', code: err.code, message: err.message }
        : { t: 'err', id, code: err.code, message: err.message };
    if (err.retryAfterMs !== undefined) m.retryAfterMs = err.retryAfterMs;
    if (err.correlationId !== undefined) m.correlationId = err.correlationId;
    if (err.details !== undefined && Object.keys(err.details).length > 0) m.details = err.details;
    this.send(m);
  }

  /**
   * Answers a bad frame, marked `details.badFrame: true` so a client can tell
   * it from a refusal that does not count (a `req` whose params fail the
   * method's schema is also `bad_request`), and counts it toward 4400.
   */
  private badFrame(id: number | undefined, err: ShutterError): void {
    this.gw.counters.badFrames++;
    const now = this.gw.now();
    if (now - this.badSince > BAD_FRAME_WINDOW_MS) {
      this.badSince = now;
      this.badFrames = 0;
    }
    this.sendError(
      id,
      new ShutterError(err.code, err.message, { details: { ...err.details, badFrame: true } }),
    );
    // Before authentication nothing is owed to the peer: the first bad frame ends it.
    if (this.state !== State.Open || ++this.badFrames >= this.gw.limits.maxBadFrames)
      this.close('protocol_error');
  }

  private rateLimited(id: number | undefined, waitMs: number): void {
    this.gw.counters.rateLimited++;
    this.sendError(
      id,
      new ShutterError('rate_limited', 'too many frames; slow down', { retryAfterMs: waitMs }),
    );
    // A client that ignores the hint for a whole burst's worth of frames is cut off.
    if (++this.limitedStrikes > this.gw.limits.connBurst) this.close('rate_limited', waitMs);
  }

  close(name: CloseName, retryAfterMs?: number): void {
    if (this.state === State.Closed) return;
    this.sock.close(CloseCode[name].code, formatCloseReason(name, retryAfterMs));
    this.onClose(name);
  }
}
