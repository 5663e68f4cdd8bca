import {
  MethodIdempotency,
  type MethodName,
  type MethodParams,
  type MethodResult,
  type ReqMessage,
  type ServerMessage,
  ShutterError,
  type WelcomeMessage,
} from '@shutter/protocol/wire';
import { type Api, makeApi } from './api.js';
import { Backoff } from './backoff.js';
import { Connection, clientReason } from './connection.js';
import { disconnectedError, ServerError, toError } from './errors.js';
import { isValidIdempotencyKey, newIdempotencyKey } from './ikey.js';
import { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Reauthenticator } from './reauth.js';
import { planReconnect } from './reconnect.js';
import { RequestManager } from './requests.js';
import { ClientStateMachine } from './state-machine.js';
import type { StreamHandler, SubscribeOptions, Subscription } from './subscription.js';
import { SubscriptionRegistry } from './subscriptions.js';
import type { ConnectedInfo, DisconnectReason } from './types.js';

export interface CallOptions {
  /** Deadline of this call, outbox time included; default `requestTimeoutMs`. */
  timeoutMs?: number;
  /**
   * Safe to send again after a lost connection: the call gets an idempotency
   * key and waits in the outbox instead of failing with `disconnected`.
   * Default: the method's `idempotent` flag in the protocol.
   */
  idempotent?: boolean;
  /** Your own idempotency key (8–128 of `[A-Za-z0-9_.:-]`); implies `idempotent`. */
  ikey?: string;
}

/** Where the app is, as the platform reports it (see `setAppState`). */
export type AppLifecycleState = 'foreground' | 'background';

/** A token with less than this left is replaced (`getToken`) before a `hello`. */
const FRESH_TOKEN_MS = 10_000;

/**
 * The Shutter client: one WebSocket at a time, a state machine around it
 * (see `ClientState`), typed calls with an offline outbox, and subscriptions
 * that resume where they left off after every reconnect.
 */
export class ShutterClient extends ClientStateMachine {
  readonly #o: ResolvedOptions;
  readonly #requests: RequestManager;
  readonly #subs: SubscriptionRegistry;
  readonly #backoff: Backoff;
  readonly #reauth: Reauthenticator;
  #conn: Connection | undefined;
  #authenticated = false;
  #everConnected = false;
  #token: string | undefined;
  /** When `#token` expires (from `welcome` or re-auth); Infinity while unknown. */
  #expiresAt = Infinity;
  /** Set by `setAppState('background')`: nothing reconnects until the foreground. */
  #background = false;
  #backgroundTimer: ReturnType<typeof setTimeout> | undefined;
  #info: ConnectedInfo | undefined;
  #lastReason: DisconnectReason | undefined;
  /** Bumped by connect() and every stop; async steps of an older run give up. */
  #run = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #stableTimer: ReturnType<typeof setTimeout> | undefined;
  /** Which of `url`'s endpoints the next attempt uses. */
  #urlIndex = 0;
  /** One typed method per operation: `client.api.feed.get({ limit: 20 })` (see `call`). */
  readonly api: Api = makeApi((method, params, options) =>
    this.call(method as MethodName, params as never, options),
  );

  constructor(options: ClientOptions) {
    super();
    this.#o = resolveOptions(options);
    this.#token = this.#o.token;
    this.#backoff = new Backoff(this.#o.backoff, this.#o.random);
    this.#requests = new RequestManager(this.#o.outboxLimit);
    this.#reauth = new Reauthenticator({
      getToken: this.#o.getToken,
      requests: this.#requests,
      timeoutMs: this.#o.requestTimeoutMs,
      storeToken: (token) => this.#takeToken(token),
      isAuthenticated: () => this.#authenticated,
      onRenewed: (expiresAt) => {
        this.#expiresAt = expiresAt;
        if (this.#info) this.#info.expiresAt = expiresAt;
        this.emitter.emit('reauth', { expiresAt });
      },
      onError: (event) => this.emitter.emit('error', event),
    });
    this.#subs = new SubscriptionRegistry({
      requests: this.#requests,
      isConnected: () => this.#authenticated,
      timeoutMs: this.#o.requestTimeoutMs,
      backoff: this.#o.backoff,
      random: this.#o.random,
      reorderWindowMs: this.#o.reorderWindowMs,
      reportError: (error) => this.emitter.emit('error', { kind: 'subscription', error }),
    });
  }

  /** Session facts from the last `welcome`; undefined unless connected. */
  get info(): ConnectedInfo | undefined {
    return this.#info ? { ...this.#info } : undefined;
  }

  /** Why the last connection ended (also after the client stopped). */
  get lastDisconnectReason(): DisconnectReason | undefined {
    return this.#lastReason;
  }

  /** Starts connecting (no-op unless `disconnected`); the client then reconnects by itself until stopped. */
  connect(): void {
    if (this.state !== 'disconnected') return;
    this.#run += 1;
    this.#everConnected = false;
    this.#backoff.reset();
    this.setState('connecting');
    void this.#attempt(this.#run);
  }

  /** Closes the socket and stays disconnected; pending and queued calls fail with `disconnected`. */
  disconnect(): void {
    if (this.state === 'disconnected') return;
    this.#stop(clientReason('disconnect_called', 'disconnect() was called'));
  }

  /**
   * The app's lifecycle, from the platform (docs/sdk.md, "Mobile
   * lifecycle"). `background`: after `backgroundGraceMs` the socket is
   * closed (reason `background`) and nothing runs or reconnects, while
   * subscriptions keep their positions. `foreground`: reconnects at once,
   * with a fresh token if the last one has expired or is about to, and
   * resumes every subscription; a socket still open is probed first.
   */
  setAppState(state: AppLifecycleState): void {
    clearTimeout(this.#backgroundTimer);
    if (state === 'background') {
      this.#background = true;
      const grace = this.#o.backgroundGraceMs;
      // At once without a grace: the app may be suspended before any timer fires.
      if (grace > 0) this.#backgroundTimer = setTimeout(() => this.#sleep(), grace);
      else this.#sleep();
    } else if (this.#background) {
      this.#background = false;
      this.#freshen();
    }
  }

  /**
   * The device's network changed (another Wi-Fi, cellular, back online): a
   * socket that looks open may be dead, so it is probed with a short
   * deadline and replaced if no answer comes; a client waiting to reconnect
   * tries at once.
   */
  networkChanged(): void {
    this.#freshen();
  }

  /** Sends one request and resolves with its typed result; rejects with a `ShutterError`. */
  call<M extends MethodName>(
    method: M,
    params: MethodParams<M>,
    options: CallOptions = {},
  ): Promise<MethodResult<M>> {
    if (this.state === 'disconnected') return Promise.reject(disconnectedError('the client is disconnected'));
    let ikey = options.ikey;
    if (ikey !== undefined && !isValidIdempotencyKey(ikey)) {
      return Promise.reject(
        new ShutterError('bad_request', 'ikey must be 8–128 characters of [A-Za-z0-9_.:-]'),
      );
    }
    // A method this SDK version does not know (plain JS callers) counts as not idempotent.
    const known = (MethodIdempotency as Record<string, boolean | undefined>)[method];
    const idempotent = ikey !== undefined || (options.idempotent ?? known ?? false);
    if (idempotent && ikey === undefined) ikey = newIdempotencyKey();
    return new Promise<MethodResult<M>>((resolve, reject) => {
      this.#requests.enqueue({
        build: (id) => {
          const frame: ReqMessage = { t: 'req', id, method, params };
          if (ikey !== undefined) frame.ikey = ikey;
          return frame;
        },
        resend: idempotent,
        timeoutMs: options.timeoutMs ?? this.#o.requestTimeoutMs,
        settle: (outcome) =>
          outcome.ok ? resolve(outcome.result as MethodResult<M>) : reject(outcome.error),
      });
    });
  }

  /**
   * Subscribes to a stream. Works in any state: the `sub` goes out on the
   * next welcome. Throws `invalid_stream` or `already_subscribed` at once.
   */
  subscribe<T = unknown>(
    stream: string,
    handler: StreamHandler<T>,
    options: SubscribeOptions = {},
  ): Subscription {
    return this.#subs.add(stream, handler as StreamHandler, options);
  }

  getSubscription(stream: string): Subscription | undefined {
    return this.#subs.get(stream);
  }

  subscriptions(): Subscription[] {
    return this.#subs.all();
  }

  async #attempt(run: number): Promise<void> {
    let token = this.#token;
    // Never `hello` with a token that is gone or about to be: the server would refuse it.
    if (token === undefined || (this.#o.getToken && this.#expiresAt - FRESH_TOKEN_MS < Date.now())) {
      token = await this.#fetchToken(run);
      if (token === undefined || run !== this.#run) return;
      this.#takeToken(token);
    }
    const conn: Connection = new Connection(
      {
        url: this.#o.urls[this.#urlIndex % this.#o.urls.length] as string,
        codecs: this.#o.codecs,
        WebSocket: this.#o.WebSocket,
        token,
        connectTimeoutMs: this.#o.connectTimeoutMs,
        probeTimeoutMs: this.#o.probeTimeoutMs,
        ...(this.#o.clientInfo ? { clientInfo: this.#o.clientInfo } : {}),
      },
      {
        onWelcome: (welcome) => this.#conn === conn && this.#onWelcome(conn, welcome),
        onMessage: (message) => this.#conn === conn && this.#route(message),
        onClose: (reason) => this.#conn === conn && this.#onClose(reason),
        onError: (event) => this.#conn === conn && this.emitter.emit('error', event),
      },
    );
    this.#conn = conn;
    conn.open();
  }

  /** A token from getToken(): its expiry is unknown until the server says, unless it is the one in use. */
  #takeToken(token: string): void {
    if (token !== this.#token) this.#expiresAt = Infinity;
    this.#token = token;
  }

  /** getToken() for a connect attempt; undefined when the attempt must not go on. */
  async #fetchToken(run: number): Promise<string | undefined> {
    const getToken = this.#o.getToken;
    if (!getToken) {
      this.#stop(clientReason('no_token', 'a fresh token is needed and there is no getToken'));
      return undefined;
    }
    try {
      const token = await getToken();
      if (run !== this.#run) return undefined;
      if (typeof token === 'string' && token.length > 0) return token;
      this.#stop(clientReason('no_token', 'getToken() returned no token'));
    } catch (err) {
      if (run !== this.#run) return undefined;
      this.emitter.emit('error', { kind: 'token', error: toError(err) });
      this.#onClose(clientReason('token_error', `getToken() failed: ${toError(err).message}`));
    }
    return undefined;
  }

  #onWelcome(conn: Connection, welcome: WelcomeMessage): void {
    const { session, user, node, expiresAt, limits } = welcome;
    this.#info = { session, user, node, expiresAt, limits, codec: conn.codec.name };
    this.#expiresAt = expiresAt;
    this.#authenticated = true;
    this.#everConnected = true;
    // Reset the backoff only once the connection proved stable: a server that
    // welcomes and then closes at once must not be hammered.
    clearTimeout(this.#stableTimer);
    this.#stableTimer = setTimeout(() => this.#backoff.reset(), this.#o.stableConnectionMs);
    this.#requests.attach((message) => conn.send(message));
    // Subscriptions first, then the outbox, all before any app listener runs
    // (a listener that subscribes must not race the resume).
    this.#subs.resumeAll();
    this.#requests.flush();
    this.setState('connected');
    this.emitter.emit('connected', { ...this.#info });
  }

  #route(message: ServerMessage): void {
    switch (message.t) {
      case 'res':
        this.#requests.resolve(message.id, message.result);
        return;
      case 'err':
        // A frame or per-node limit holds every request; a rate class's (`details.rateClass`) only that call.
        if (
          message.code === 'rate_limited' &&
          message.retryAfterMs !== undefined &&
          !message.details?.rateClass
        ) {
          this.#requests.pauseFor(message.retryAfterMs);
        }
        if (message.id !== undefined) this.#requests.reject({ ...message, id: message.id });
        else this.emitter.emit('error', { kind: 'server', error: new ServerError(message) });
        return;
      case 'ev':
        this.#subs.handleEvent(message);
        return;
      case 'notice':
        this.emitter.emit('notice', message);
        if (message.kind === 'token_expiring') {
          const run = this.#run;
          void this.#reauth.run(() => run === this.#run);
        }
        if (message.kind === 'lease_expired') this.#subs.lapsed(message.stream);
        return;
      case 'pong':
      case 'welcome':
        return;
      default: {
        const never: never = message;
        throw new TypeError(`unhandled message ${JSON.stringify(never)}`);
      }
    }
  }

  #onClose(reason: DisconnectReason): void {
    clearTimeout(this.#stableTimer);
    this.#conn = undefined;
    this.#authenticated = false;
    this.#info = undefined;
    this.#lastReason = reason;
    this.#requests.detach();
    this.#subs.onDisconnected();
    // With several endpoints, the next attempt goes to the next one (this one is draining or gone).
    this.#urlIndex += 1;
    const plan = planReconnect(reason, {
      backoff: this.#backoff,
      resumeJitterMs: this.#o.resumeJitterMs,
      random: this.#o.random,
      canRefreshToken: this.#o.getToken !== undefined,
    });
    if (plan.kind === 'stop') {
      this.#stop(reason);
      return;
    }
    if (plan.refreshToken) this.#token = undefined;
    this.setState(this.#everConnected ? 'reconnecting' : 'connecting', reason);
    if (this.#background) return; // setAppState('foreground') reconnects
    this.emitter.emit('reconnect', { delayMs: plan.delayMs, reason });
    const run = this.#run;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      if (run === this.#run) void this.#attempt(run);
    }, plan.delayMs);
  }

  /** The background grace is over: let the socket go, stop every timer. */
  #sleep(): void {
    if (this.state === 'disconnected') return;
    this.#run += 1;
    clearTimeout(this.#retryTimer);
    this.#conn?.close(clientReason('background', 'app in the background'));
  }

  /** Foreground or network change: probe the open socket, or connect now instead of after the backoff. */
  #freshen(): void {
    if (this.#background || this.state === 'disconnected') return;
    this.#backoff.reset();
    if (this.#conn) this.#conn.probe();
    else {
      clearTimeout(this.#retryTimer);
      void this.#attempt(++this.#run);
    }
  }

  #stop(reason: DisconnectReason): void {
    this.#run += 1;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#stableTimer);
    const conn = this.#conn;
    this.#conn = undefined;
    this.#authenticated = false;
    this.#info = undefined;
    this.#lastReason = reason;
    conn?.close(reason);
    this.#requests.failAll(disconnectedError(`the client stopped: ${reason.name}`, { reason: reason.name }));
    this.#subs.onDisconnected();
    this.setState('disconnected', reason);
    this.emitter.emit('disconnected', reason);
  }
}

export function createClient(options: ClientOptions): ShutterClient {
  return new ShutterClient(options);
}
