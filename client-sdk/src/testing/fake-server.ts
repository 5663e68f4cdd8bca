import {
  type ClientMessage,
  CloseCode,
  type Codec,
  codecFor,
  type EvMessage,
  type LimitsInfo,
  type ReqMessage,
  type ServerMessage,
  SUBPROTOCOLS,
  type SubMessage,
} from '@shutter/protocol';
import { validateClientMessage } from '@shutter/protocol/validate';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { FakeStreams } from './fake-streams.js';
import { until } from './wait.js';

/**
 * An in-process Shutter server for deterministic SDK tests (test-only, Node
 * only: it is excluded from the package build). It speaks protocol v1 with
 * sensible defaults — hello/welcome, auth, req (`system.echo`,
 * `system.increment` with idempotency keys), sub/unsub with a bounded
 * history, ping/pong — records every client frame, validates each against
 * the protocol schemas, and has knobs to script failures: refuse upgrades
 * with 503, mute answers, stop answering pings, kill sockets, close with
 * any code, send any frame.
 */
export type Reply =
  | { result: unknown }
  | {
      error: {
        code: string;
        message: string;
        retryAfterMs?: number;
        correlationId?: string;
        details?: Record<string, unknown>;
      };
    };

export interface FakeServerOptions {
  historyLimit?: number;
  limits?: Partial<LimitsInfo>;
  tokenTtlMs?: number;
}

export type AuthDecision = { user: string } | { error: 'auth_failed' | 'token_expired' };

export class FakeConnection {
  readonly index: number;
  readonly codec: Codec;
  readonly openedAt = Date.now();
  closedAt: number | undefined;
  /** Every valid client frame, in order. */
  readonly received: ClientMessage[] = [];
  /** Frames that broke the protocol (wrong frame type, failed schema): tests expect none. */
  readonly invalid: string[] = [];
  readonly subscriptions = new Set<string>();
  answerPings = true;
  authenticated = false;
  user: string | undefined;
  readonly #ws: WebSocket;

  constructor(index: number, ws: WebSocket, codec: Codec) {
    this.index = index;
    this.#ws = ws;
    this.codec = codec;
  }

  get isOpen(): boolean {
    return this.#ws.readyState === this.#ws.OPEN;
  }

  send(message: ServerMessage): void {
    if (this.isOpen) this.#ws.send(this.codec.encode(message));
  }

  /** Closes with a code and reason, e.g. `close(4429, 'rate_limited retry_after_ms=300')`. */
  close(code: number, reason = ''): void {
    this.#ws.close(code, reason);
  }

  /** Drops the TCP connection without a close frame (the client sees 1006). */
  terminate(): void {
    this.#ws.terminate();
  }

  frames<T extends ClientMessage['t']>(t: T): Extract<ClientMessage, { t: T }>[] {
    return this.received.filter((m): m is Extract<ClientMessage, { t: T }> => m.t === t);
  }

  waitFor<T extends ClientMessage['t']>(
    t: T,
    match: (m: Extract<ClientMessage, { t: T }>) => boolean = () => true,
  ) {
    return until(() => this.frames(t).find(match), 3000, `a ${t} frame on connection ${this.index}`);
  }
}

export class FakeServer {
  readonly streams: FakeStreams;
  readonly connections: FakeConnection[] = [];
  readonly upgrades: { url: string; protocols: string[]; rejected: boolean; at: number }[] = [];
  /** Answer the next n upgrades with HTTP 503 (over capacity). */
  rejectUpgrades = 0;
  limits: LimitsInfo;
  tokenTtlMs: number;
  /** Default: tokens starting with `bad` fail, `expired` are expired, others are `tok-<user>`. */
  authenticate: (token: string) => AuthDecision = defaultAuthenticate;
  /** Answers of these methods are never sent (the request is still applied), as if lost on the wire. */
  readonly muteMethods = new Set<string>();
  /** Overrides the answer to a request; return undefined to fall through to the defaults. */
  onRequest: ((req: ReqMessage, conn: FakeConnection) => Reply | undefined) | undefined;
  /** Overrides the answer to a `sub` (e.g. `forbidden`); return undefined for the default. */
  onSubscribe: ((sub: SubMessage, conn: FakeConnection) => Reply | undefined) | undefined;
  /** Every application of `system.increment` (a retry with a known ikey is not one). */
  readonly applied: { user: string; counter: string; ikey: string | undefined }[] = [];
  readonly counters = new Map<string, number>();
  readonly #ikeyResults = new Map<string, unknown>();
  readonly #wss: WebSocketServer;

  private constructor(wss: WebSocketServer, options: FakeServerOptions) {
    this.#wss = wss;
    this.streams = new FakeStreams(options.historyLimit ?? 100);
    this.limits = {
      maxFrameBytes: 65_536,
      pingIntervalMs: 25_000,
      idleTimeoutMs: 60_000,
      maxSubscriptions: 100,
      ...options.limits,
    };
    this.tokenTtlMs = options.tokenTtlMs ?? 3_600_000;
    wss.on('connection', (ws) => this.#onConnection(ws));
  }

  static async start(options: FakeServerOptions = {}): Promise<FakeServer> {
    let server: FakeServer | undefined;
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      path: '/ws',
      // Like the real server: the first of the client's offers it supports.
      handleProtocols: (offered) => [...offered].find((p) => SUBPROTOCOLS.some((s) => s === p)) ?? false,
      verifyClient: (info, done) => {
        const s = server as FakeServer;
        const rejected = s.rejectUpgrades > 0;
        if (rejected) s.rejectUpgrades -= 1;
        const protocols = String(info.req.headers['sec-websocket-protocol'] ?? '').split(/\s*,\s*/);
        s.upgrades.push({ url: info.req.url ?? '', protocols, rejected, at: Date.now() });
        if (rejected) done(false, 503, 'Service Unavailable');
        else done(true);
      },
    });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    server = new FakeServer(wss, options);
    return server;
  }

  get url(): string {
    const address = this.#wss.address();
    if (address === null || typeof address === 'string')
      throw new Error('the server is not listening on TCP');
    return `ws://127.0.0.1:${address.port}/ws`;
  }

  /** The newest connection. */
  get current(): FakeConnection | undefined {
    return this.connections.at(-1);
  }

  /** Waits until connection number `index` (0-based) exists. */
  connection(index: number, timeoutMs = 3000): Promise<FakeConnection> {
    return until(() => this.connections[index], timeoutMs, `connection ${index}`);
  }

  /** Appends an event and sends it to every open connection subscribed to the stream. */
  publish(stream: string, data: unknown): EvMessage {
    const ev = this.streams.append(stream, data);
    this.deliver(ev);
    return ev;
  }

  deliver(ev: EvMessage): void {
    for (const c of this.connections) if (c.isOpen && c.subscriptions.has(ev.stream)) c.send(ev);
  }

  killAll(): void {
    for (const c of this.connections) if (c.isOpen) c.terminate();
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #onConnection(ws: WebSocket): void {
    const codec = codecFor(ws.protocol);
    if (!codec) {
      ws.close(CloseCode.unsupported_protocol.code, 'unsupported_protocol');
      return;
    }
    const conn = new FakeConnection(this.connections.length, ws, codec);
    this.connections.push(conn);
    ws.on('message', (data, isBinary) => this.#onFrame(conn, data, isBinary));
    ws.on('close', () => {
      conn.closedAt = Date.now();
    });
    ws.on('error', () => {});
  }

  #onFrame(conn: FakeConnection, data: RawData, isBinary: boolean): void {
    if (isBinary !== conn.codec.binary)
      conn.invalid.push(`${isBinary ? 'binary' : 'text'} frame on ${conn.codec.name}`);
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    let value: unknown;
    try {
      value = conn.codec.decode(isBinary ? new Uint8Array(bytes) : bytes.toString('utf8'));
    } catch (err) {
      conn.invalid.push(`undecodable: ${String(err)}`);
      conn.send({ t: 'err', code: 'bad_frame', message: 'undecodable frame' });
      return;
    }
    const checked = validateClientMessage(value);
    if (!checked.ok) {
      conn.invalid.push(checked.message);
      const err: ServerMessage = { t: 'err', code: 'bad_request', message: checked.message };
      if (checked.id !== undefined) err.id = checked.id;
      conn.send(err);
      return;
    }
    const msg = checked.value;
    conn.received.push(msg);
    if (!conn.authenticated) {
      if (msg.t === 'hello') this.#hello(conn, msg.token);
      else conn.invalid.push(`${msg.t} before hello`);
      return;
    }
    this.#dispatch(conn, msg);
  }

  #hello(conn: FakeConnection, token: string): void {
    const decision = this.authenticate(token);
    if ('error' in decision) {
      conn.send({ t: 'err', code: decision.error, message: `token refused: ${decision.error}` });
      conn.close(CloseCode[decision.error].code, decision.error);
      return;
    }
    conn.authenticated = true;
    conn.user = decision.user;
    conn.send({
      t: 'welcome',
      v: 1,
      session: `s${conn.index}`,
      user: decision.user,
      expiresAt: Date.now() + this.tokenTtlMs,
      node: 'fake-node',
      limits: { ...this.limits },
    });
  }

  #dispatch(conn: FakeConnection, msg: ClientMessage): void {
    switch (msg.t) {
      case 'hello':
        conn.invalid.push('second hello');
        return;
      case 'auth': {
        const decision = this.authenticate(msg.token);
        if ('error' in decision)
          conn.send({ t: 'err', id: msg.id, code: decision.error, message: 'token refused' });
        else conn.send({ t: 'res', id: msg.id, result: { expiresAt: Date.now() + this.tokenTtlMs } });
        return;
      }
      case 'ping':
        if (conn.answerPings) conn.send({ t: 'pong' });
        return;
      case 'sub': {
        const override = this.onSubscribe?.(msg, conn);
        if (override) {
          if ('error' in override) conn.send({ t: 'err', id: msg.id, ...override.error });
          else conn.send({ t: 'res', id: msg.id, result: override.result });
          return;
        }
        if (conn.subscriptions.has(msg.stream)) {
          conn.send({ t: 'err', id: msg.id, code: 'already_subscribed', message: msg.stream });
          return;
        }
        conn.subscriptions.add(msg.stream);
        const { result, replay } = this.streams.subscribe(msg.stream, msg.from);
        conn.send({ t: 'res', id: msg.id, result });
        for (const ev of replay) conn.send(ev);
        return;
      }
      case 'unsub':
        if (!conn.subscriptions.delete(msg.stream)) {
          conn.send({ t: 'err', id: msg.id, code: 'not_subscribed', message: msg.stream });
        } else {
          conn.send({ t: 'res', id: msg.id, result: {} });
        }
        return;
      case 'req': {
        const reply = this.onRequest?.(msg, conn) ?? this.#defaultReply(conn, msg);
        if (this.muteMethods.has(msg.method)) return;
        if ('result' in reply) conn.send({ t: 'res', id: msg.id, result: reply.result });
        else conn.send({ t: 'err', id: msg.id, ...reply.error });
        return;
      }
      default: {
        const never: never = msg;
        conn.invalid.push(`unexpected ${JSON.stringify(never)}`);
      }
    }
  }

  #defaultReply(conn: FakeConnection, req: ReqMessage): Reply {
    const params = (req.params ?? {}) as Record<string, unknown>;
    if (req.method === 'system.echo')
      return { result: { text: params.text, node: 'fake-node', at: Date.now() } };
    if (req.method === 'system.increment') {
      const user = conn.user ?? '';
      const cacheKey = req.ikey === undefined ? undefined : `${user}/${req.ikey}`;
      if (cacheKey !== undefined && this.#ikeyResults.has(cacheKey))
        return { result: this.#ikeyResults.get(cacheKey) };
      const counter = String(params.counter);
      const key = `${user}/${counter}`;
      const value = (this.counters.get(key) ?? 0) + Number(params.by);
      this.counters.set(key, value);
      this.applied.push({ user, counter, ikey: req.ikey });
      const result = { counter, value };
      if (cacheKey !== undefined) this.#ikeyResults.set(cacheKey, result);
      return { result };
    }
    return { error: { code: 'unknown_method', message: `no method ${req.method}` } };
  }
}

function defaultAuthenticate(token: string): AuthDecision {
  if (token.startsWith('bad')) return { error: 'auth_failed' };
  if (token.startsWith('expired')) return { error: 'token_expired' };
  return { user: token.replace(/^tok-/, '').replace(/-v\d+$/, '') };
}
