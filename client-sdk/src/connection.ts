import {
  type ClientMessage,
  type Codec,
  closeActionOf,
  closeNameOf,
  type HelloMessage,
  jsonWireCodec,
  PROTOCOL_VERSION,
  parseCloseReason,
  type ServerMessage,
  type ShutterError,
  type WelcomeMessage,
} from '@shutter/protocol/wire';
import { ClientCloseCode, type ClientCloseName } from './codes.js';
import { ServerError, toError } from './errors.js';
import { Heartbeat } from './heartbeat.js';
import { parseServerMessage } from './inbound.js';
import type { ClientErrorEvent, DisconnectReason } from './types.js';
import {
  type RefusedUpgrade,
  refusalHeals,
  UpgradeRefusedError,
  watchRefusedUpgrade,
} from './upgrade-refusal.js';
import { toFrame, type WebSocketConstructor, type WebSocketLike, WS_OPEN } from './websocket.js';

export interface ClientInfo {
  name?: string;
  version?: string;
  platform?: string;
}

export interface ConnectionConfig {
  url: string;
  /** Codecs to offer, preferred first; the server picks the first it supports. */
  codecs: readonly Codec[];
  WebSocket: WebSocketConstructor;
  token: string;
  clientInfo?: ClientInfo;
  connectTimeoutMs: number;
  probeTimeoutMs: number;
}

export interface ConnectionHandlers {
  onWelcome(welcome: WelcomeMessage): void;
  /** Every valid frame after `welcome`, in arrival order. */
  onMessage(message: ServerMessage): void;
  /** Exactly once per connection, whoever closed it. */
  onClose(reason: DisconnectReason): void;
  onError(event: ClientErrorEvent): void;
}

export type SendResult = 'sent' | 'closed' | 'too_large';

let utf8: TextEncoder | undefined; // made on first use, as in wire-codec.ts

/** Whether a frame's payload (UTF-8 bytes for text) exceeds `max`; encodes text only when it might. */
function exceeds(frame: string | Uint8Array, max: number): boolean {
  if (typeof frame !== 'string') return frame.byteLength > max;
  if (frame.length * 3 <= max) return false; // at most 3 UTF-8 bytes per UTF-16 unit
  if (frame.length > max) return true;
  return (utf8 ??= new TextEncoder()).encode(frame).byteLength > max;
}

export function clientReason(name: ClientCloseName, message: string): DisconnectReason {
  const { code, action } = ClientCloseCode[name];
  return { source: 'client', code, name, action, message };
}

/**
 * One WebSocket, from `new WebSocket` to its close: offers the codecs'
 * subprotocols, uses the one the server selected, sends `hello` first, waits for `welcome`, runs the heartbeat,
 * and reports the end once with everything the reconnect policy needs
 * (close code, `retry_after_ms` from the reason, a `going_away` notice, or
 * the `err` frame that preceded the close).
 */
export class Connection {
  readonly #cfg: ConnectionConfig;
  readonly #h: ConnectionHandlers;
  #heartbeat: Heartbeat | undefined;
  #ws: WebSocketLike | undefined;
  #phase: 'new' | 'handshake' | 'open' | 'closed' = 'new';
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #lastError: ShutterError | undefined;
  #goingAwayMs: number | undefined;
  #maxFrameBytes: number | undefined;
  #codec: Codec;
  #opened = false;
  /** The platform's last error message (`ws` gives one, browsers do not). */
  #transportError: string | undefined;

  constructor(config: ConnectionConfig, handlers: ConnectionHandlers) {
    this.#cfg = config;
    this.#h = handlers;
    this.#codec = config.codecs[0] ?? jsonWireCodec;
  }

  /** The codec in use (the preferred one until the server selected one). */
  get codec(): Codec {
    return this.#codec;
  }

  get isOpen(): boolean {
    return this.#phase === 'open';
  }

  open(): void {
    if (this.#phase !== 'new') return;
    this.#phase = 'handshake';
    let ws: WebSocketLike;
    try {
      // The token never goes into the URL: it travels in the first frame.
      ws = new this.#cfg.WebSocket(
        this.#cfg.url,
        this.#cfg.codecs.map((c) => c.subprotocol),
      );
    } catch (err) {
      queueMicrotask(() => this.#finish(clientReason('transport_error', toError(err).message)));
      return;
    }
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.#onOpen();
    ws.onmessage = (event) => this.#onFrame(event.data);
    ws.onclose = (event) => this.#finish(this.#closeReason(event.code, event.reason));
    ws.onerror = (event) => {
      const message = (event as { message?: unknown }).message;
      if (typeof message === 'string' && message) this.#transportError = message;
      this.#h.onError({ kind: 'transport', error: new Error(this.#transportError ?? 'WebSocket error') });
    };
    watchRefusedUpgrade(ws, (refusal) => this.#onRefused(refusal));
    this.#handshakeTimer = setTimeout(
      () =>
        this.close(clientReason('handshake_timeout', `no welcome within ${this.#cfg.connectTimeoutMs} ms`)),
      this.#cfg.connectTimeoutMs,
    );
  }

  /**
   * Sends one message. `closed`: the socket is not open (the close handling
   * follows); `too_large`: the frame exceeds `limits.maxFrameBytes` and was
   * not sent, since the server would close the connection over it (4413).
   */
  send(message: ClientMessage): SendResult {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WS_OPEN || this.#phase === 'closed') return 'closed';
    if (this.#phase !== 'open' && message.t !== 'hello') return 'closed';
    const frame = this.#codec.encode(message);
    if (this.#maxFrameBytes !== undefined && exceeds(frame, this.#maxFrameBytes)) return 'too_large';
    ws.send(frame);
    this.#heartbeat?.sent();
    return 'sent';
  }

  /** Pings at once with a short deadline (see `Heartbeat.probe`); a no-op before `welcome`. */
  probe(): void {
    this.#heartbeat?.probe(true);
  }

  /** Closes from the client side and reports `reason` through `onClose` synchronously. */
  close(reason: DisconnectReason): void {
    if (this.#phase === 'closed') return;
    const ws = this.#ws;
    if (ws) {
      this.#detach(ws);
      try {
        ws.close(1000, reason.name);
      } catch {
        // Already closing; nothing more to do.
      }
    }
    this.#finish(reason);
  }

  #onOpen(): void {
    const ws = this.#ws;
    if (!ws || this.#phase !== 'handshake') return;
    this.#opened = true;
    // Browsers and `ws` fail the handshake themselves when the server selects
    // nothing; an empty `protocol` here means a platform that does not report
    // it, so the preferred codec is assumed.
    const chosen =
      ws.protocol === '' ? this.#cfg.codecs[0] : this.#cfg.codecs.find((c) => c.subprotocol === ws.protocol);
    if (!chosen) {
      this.close(clientReason('bad_protocol', `server chose subprotocol ${JSON.stringify(ws.protocol)}`));
      return;
    }
    this.#codec = chosen;
    const hello: HelloMessage = { t: 'hello', v: PROTOCOL_VERSION, token: this.#cfg.token };
    if (this.#cfg.clientInfo) hello.client = { ...this.#cfg.clientInfo };
    this.send(hello);
  }

  #onFrame(data: unknown): void {
    if (this.#phase === 'closed') return;
    this.#heartbeat?.received();
    const frame = toFrame(data);
    let decoded: unknown;
    try {
      if (frame === undefined)
        throw new TypeError('unsupported frame payload (set binaryType to arraybuffer)');
      decoded = this.#codec.decode(frame);
    } catch (err) {
      this.#h.onError({ kind: 'decode', error: toError(err) });
      return;
    }
    const parsed = parseServerMessage(decoded);
    if (!parsed.ok) {
      this.#h.onError({ kind: 'decode', error: new Error(parsed.message) });
      return;
    }
    const message = parsed.message;
    if (message.t === 'notice' && message.kind === 'going_away') this.#goingAwayMs = message.retryAfterMs;
    if (this.#phase === 'handshake') {
      if (message.t === 'welcome') {
        clearTimeout(this.#handshakeTimer);
        this.#phase = 'open';
        this.#maxFrameBytes = message.limits.maxFrameBytes > 0 ? message.limits.maxFrameBytes : undefined;
        this.#heartbeat = new Heartbeat({
          intervalMs: message.limits.pingIntervalMs,
          probeTimeoutMs: this.#cfg.probeTimeoutMs,
          sendPing: () => this.send({ t: 'ping' }),
          onDead: () => this.close(clientReason('half_open', 'no frame arrived after a ping')),
        });
        this.#heartbeat.start();
        this.#h.onWelcome(message);
      } else if (message.t === 'err') {
        // Typically auth_failed / token_expired, followed by the close.
        this.#lastError = new ServerError(message);
        this.#h.onError({ kind: 'server', error: this.#lastError });
      }
      return;
    }
    if (message.t === 'err' && message.id === undefined) this.#lastError = new ServerError(message);
    this.#h.onMessage(message);
  }

  /** `ws` read the HTTP answer to the upgrade: stop, or back off when it can heal. */
  #onRefused(refusal: RefusedUpgrade): void {
    if (this.#phase !== 'handshake') return;
    const error = new UpgradeRefusedError(refusal);
    this.#h.onError({ kind: 'transport', error });
    const reason = clientReason(
      refusalHeals(refusal.status) ? 'upgrade_unavailable' : 'upgrade_refused',
      error.message,
    );
    reason.error = error;
    if (refusal.retryAfterMs !== undefined) reason.retryAfterMs = refusal.retryAfterMs;
    this.close(reason);
  }

  #closeReason(code: number, text: string): DisconnectReason {
    if (this.#opened || code !== 1006) return this.#serverReason(code, text);
    return clientReason(
      'connect_failed',
      this.#transportError === undefined
        ? 'the WebSocket failed before opening; the platform does not say why (server down, TLS, wrong URL or path, refused upgrade)'
        : `could not connect: ${this.#transportError}`,
    );
  }

  #serverReason(code: number, text: string): DisconnectReason {
    const parsed = parseCloseReason(text ?? '');
    const name = closeNameOf(code) ?? (code === 1006 ? 'abnormal' : 'unknown');
    const reason: DisconnectReason = {
      source: 'server',
      code,
      name,
      action: closeActionOf(code),
      message: text ?? '',
    };
    const retryAfterMs = parsed.retryAfterMs ?? this.#goingAwayMs ?? this.#lastError?.retryAfterMs;
    if (retryAfterMs !== undefined) reason.retryAfterMs = retryAfterMs;
    if (this.#lastError) reason.error = this.#lastError;
    return reason;
  }

  #detach(ws: WebSocketLike): void {
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    // Keep an error listener: `ws` throws on an 'error' event nobody listens to.
    ws.onerror = () => {};
  }

  #finish(reason: DisconnectReason): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    clearTimeout(this.#handshakeTimer);
    this.#heartbeat?.stop();
    if (this.#ws) this.#detach(this.#ws);
    this.#h.onClose(reason);
  }
}
