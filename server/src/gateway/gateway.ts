import { randomBytes } from 'node:crypto';
import {
  type AuthMessage,
  codecFor,
  type HelloMessage,
  type ReqMessage,
  ShutterError,
  type SubMessage,
  type UnsubMessage,
  WS_PATH,
} from '@shutter/protocol';
import type { TokenVerifier } from '../auth/tokens.js';
import type { OperationCall } from '../capabilities/registry.js';
import { type PublicError, toPublicError } from '../errors.js';
import type { HttpHandler } from '../http/types.js';
import type { Logger } from '../log.js';
import type { StreamHub } from '../streams/stream-hub.js';
import type { SubscribeAuthorizer } from './authorize.js';
import { Connection } from './connection.js';
import type { EngineSocket, UpgradeDecision, UpgradeRequest, WsEngine } from './engine.js';
import type { ConnectionHost, GatewayCounters, GatewayLimits } from './host.js';
import { Subscriptions } from './subscriptions.js';
import { BucketMap } from './token-bucket.js';

export type { GatewayCounters, GatewayLimits } from './host.js';

/** Sessions as the gateway sees them start and end (`session`: unique on this node). */
export interface SessionListener {
  opened(userId: string, session: string): void;
  closed(userId: string, session: string): void;
}

export interface GatewayDeps {
  limits: GatewayLimits;
  nodeId: string;
  verifier: TokenVerifier;
  hub: StreamHub;
  /** Serves `req` frames: the operation registry (`server/src/capabilities/`), shared with the HTTP routes. */
  operations: { call(method: string, call: OperationCall): Promise<unknown> };
  authorize: SubscribeAuthorizer;
  log: Logger;
  now?: () => number;
  /**
   * Hears of every authenticated session: `opened` right after its
   * `welcome`, `closed` once when its socket closed (only for a session
   * that opened). Called on the gateway's path: hand the news on and return.
   */
  sessions?: SessionListener;
  /**
   * The client's address from the upgrade's peer and `X-Forwarded-For`
   * (TRUSTED_PROXIES, `limits/client-address.ts`); the peer's when absent.
   */
  clientAddress?: (peer: string, forwardedFor: string | undefined) => string;
}

const SWEEP_MS = 250;
/** Sockets accepted past MAX_CONNECTIONS only to be told, in-band, to come back later. */
const OVER_CAPACITY_SLACK = 256;
const OVER_CAPACITY_RETRY_MS = 5000;

/**
 * The WebSocket gateway: admits sockets, runs the protocol on each through
 * `Connection`, and enforces the time-based rules (auth timeout, idle
 * timeout, token expiry, slow consumers) in one sweep for all sockets, so an
 * idle socket owns no timer.
 */
export class Gateway implements ConnectionHost {
  readonly limits: GatewayLimits;
  readonly counters: GatewayCounters = {
    connectionsOpened: 0,
    connectionsClosed: 0,
    upgradesRefused: 0,
    framesIn: 0,
    badFrames: 0,
    rateLimited: 0,
    slowConsumers: 0,
    authFailures: 0,
    requests: 0,
    leasesLapsed: 0,
  };
  readonly now: () => number;
  private readonly conns = new Set<Connection>();
  /** Sockets that have not finished `hello` yet: the only ones the fast sweep visits. */
  private readonly unauthenticated = new Set<Connection>();
  private sweeps = 0;
  private readonly userBuckets: BucketMap;
  private readonly sessionPrefix = randomBytes(4).toString('hex');
  private sessionSeq = 0;
  private sweeper: NodeJS.Timeout | undefined;
  /** Upgrades are refused with 503 (shutting down). */
  private draining = false;
  /** `drain` ran: every socket was told to go away. */
  private sentAway = false;
  engine!: WsEngine;

  /** `sub` / `unsub` handling. */
  private readonly subscriptions: Subscriptions;

  constructor(private readonly deps: GatewayDeps) {
    this.limits = deps.limits;
    this.now = deps.now ?? Date.now;
    this.userBuckets = new BucketMap(deps.limits.userRate, deps.limits.userBurst);
    this.subscriptions = new Subscriptions(
      deps.hub,
      deps.authorize,
      deps.limits.maxSubscriptions,
      (e, c, w) => this.publicError(e, c, w),
      this.now,
    );
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Engine hooks. */
  hooks(http: HttpHandler) {
    return {
      upgrade: (req: UpgradeRequest) => this.upgrade(req),
      open: (sock: EngineSocket, protocol: string) => this.open(sock, protocol),
      http,
    };
  }

  start(engine: WsEngine): void {
    this.engine = engine;
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  private upgrade(req: UpgradeRequest): UpgradeDecision {
    const refuse = (status: number, message: string, headers?: Record<string, string>): UpgradeDecision => {
      this.counters.upgradesRefused++;
      this.deps.log.debug(
        { status, reason: message, path: req.path, origin: req.origin, remote: req.remoteAddress },
        'upgrade refused',
      );
      return headers ? { accept: false, status, message, headers } : { accept: false, status, message };
    };
    if (req.path !== WS_PATH) return refuse(404, `not_found: the WebSocket endpoint is ${WS_PATH}`);
    if (this.draining) return refuse(503, 'unavailable: this node is shutting down', { 'retry-after': '1' });
    // Past the cap the socket is still accepted, then closed with 4503 and a retry
    // hint: browsers cannot read an HTTP status or Retry-After on a refused upgrade.
    // Only far past it (a flood) is the upgrade itself refused, to keep file descriptors.
    if (this.conns.size >= this.limits.maxConnections + OVER_CAPACITY_SLACK) {
      return refuse(503, 'over_capacity: this node holds as many connections as it may', {
        'retry-after': '5',
      });
    }
    if (
      req.origin !== undefined &&
      this.limits.origins.length > 0 &&
      !this.limits.origins.includes(req.origin)
    ) {
      return refuse(403, 'forbidden: this origin may not connect');
    }
    const protocol = req.protocols.find((p) => codecFor(p) !== undefined);
    if (!protocol) return refuse(400, 'bad_request: offer subprotocol shutter.v1.msgpack or shutter.v1.json');
    const address = this.deps.clientAddress?.(req.remoteAddress, req.forwardedFor) ?? req.remoteAddress;
    return { accept: true, protocol, address };
  }

  private open(sock: EngineSocket, protocol: string): Connection {
    const conn = new Connection(sock, codecFor(protocol)!, this, this.now());
    if (this.conns.size >= this.limits.maxConnections) {
      this.counters.upgradesRefused++;
      this.deps.log.debug(
        { remote: sock.remoteAddress, connections: this.conns.size },
        'socket over capacity',
      );
      conn.close('over_capacity', OVER_CAPACITY_RETRY_MS);
      return conn;
    }
    this.conns.add(conn);
    this.unauthenticated.add(conn);
    this.counters.connectionsOpened++;
    return conn;
  }

  /** @internal called by Connection; `how` is the close name the server sent, or the code the peer closed with. */
  connectionClosed(conn: Connection, how?: string | number): void {
    this.unauthenticated.delete(conn);
    if (!this.conns.delete(conn)) return;
    // Expected, whoever closed: debug, never an error.
    this.deps.log.debug(
      typeof how === 'string' ? { user: conn.userId, close: how } : { user: conn.userId, peerCode: how },
      'socket closed',
    );
    this.counters.connectionsClosed++;
    this.subscriptions.dropAll(conn);
    if (conn.session) this.tellSessions('closed', conn.userId, conn.session);
  }

  /** @internal */
  takeUserToken(userId: string): number {
    return this.userBuckets.take(userId, this.now());
  }

  /** @internal */
  hello(conn: Connection, msg: HelloMessage): void {
    this.deps.verifier.verify(msg.token).then(
      (id) => {
        if (!conn.isOpen) return;
        const session = `${this.sessionPrefix}-${(++this.sessionSeq).toString(36)}`;
        this.unauthenticated.delete(conn);
        const opened = conn.open(
          { userId: id.userId, session, expiresAt: id.expiresAt },
          {
            t: 'welcome',
            v: 1,
            session,
            user: id.userId,
            expiresAt: id.expiresAt,
            node: this.deps.nodeId,
            limits: {
              maxFrameBytes: this.limits.maxFrameBytes,
              pingIntervalMs: this.limits.pingIntervalMs,
              idleTimeoutMs: this.limits.idleTimeoutMs,
              maxSubscriptions: this.limits.maxSubscriptions,
            },
          },
        );
        if (opened) this.tellSessions('opened', id.userId, session);
      },
      (err: unknown) => {
        this.counters.authFailures++;
        const e = this.publicError(err, conn, 'hello');
        conn.sendError(undefined, e);
        conn.close(e.code === 'token_expired' ? 'token_expired' : 'auth_failed');
      },
    );
  }

  /** @internal */
  reauth(conn: Connection, msg: AuthMessage): void {
    this.deps.verifier.verify(msg.token).then(
      (id) => {
        if (!conn.isOpen) return;
        if (id.userId !== conn.userId) {
          return conn.sendError(msg.id, new ShutterError('forbidden', 'the new token is for another user'));
        }
        conn.extend(id.expiresAt);
        conn.send({ t: 'res', id: msg.id, result: { expiresAt: id.expiresAt } });
      },
      (err: unknown) => {
        this.counters.authFailures++;
        conn.sendError(msg.id, this.publicError(err, conn, 'auth'));
      },
    );
  }

  /** @internal */
  request(conn: Connection, msg: ReqMessage): void {
    this.counters.requests++;
    this.deps.operations
      .call(msg.method, {
        caller: { userId: conn.userId, session: conn.session, address: conn.sock.remoteAddress },
        params: msg.params,
        idempotencyKey: msg.ikey,
        via: 'ws',
      })
      .then(
        (result) => conn.send({ t: 'res', id: msg.id, result }),
        (err: unknown) =>
          conn.sendError(msg.id, this.publicError(err, conn, `req ${msg.method.slice(0, 64)}`)),
      );
  }

  /** @internal */
  subscribe(conn: Connection, msg: SubMessage): void {
    this.subscriptions.subscribe(conn, msg);
  }

  /** @internal */
  unsubscribe(conn: Connection, msg: UnsubMessage): void {
    this.subscriptions.unsubscribe(conn, msg);
  }

  /** @internal */
  leaseLapsed(conn: Connection, stream: string): void {
    this.subscriptions.lapse(conn, stream, () => this.counters.leasesLapsed++);
  }

  private tellSessions(what: 'opened' | 'closed', userId: string, session: string): void {
    try {
      this.deps.sessions?.[what](userId, session);
    } catch (err) {
      this.deps.log.error({ err, user: userId }, `a session ${what} listener failed`);
    }
  }

  /** @internal the one edge where a failure becomes what the client sees */
  publicError(err: unknown, conn: Connection, what: string): PublicError {
    const e = toPublicError(err, this.deps.log, { user: conn.userId, what }, this.limits.exposeErrors);
    // Refusals (a rejected token, a forbidden subscription, an unknown method) are the client's
    // business: debug. Unexpected failures were logged above as errors.
    if (e.code !== 'internal_error')
      this.deps.log.debug({ user: conn.userId, what, code: e.code, reason: e.message }, 'request refused');
    return e;
  }

  /**
   * Every 250 ms the sockets still owing `hello`; every fourth tick (1 s) all
   * of them, for idle time, token expiry, slow consumers and lapsed leases. A full pass over
   * every socket four times a second cost a few % of a core at 10 000 idle
   * sockets (docs/performance.md).
   */
  private sweep(): void {
    const now = this.now();
    for (const c of this.unauthenticated) c.checkHello(now);
    if (++this.sweeps % 4 !== 0) return;
    for (const c of this.conns) c.tick(now);
    this.userBuckets.prune(now);
  }

  /**
   * Stops admitting sockets and tells every client to reconnect elsewhere:
   * a going_away notice, then a going_away close with a jittered retry hint
   * so the clients of a restarting node do not all come back at once.
   */
  drain(): void {
    this.draining = true;
    this.sentAway = true;
    this.engine.stopListening();
    this.deps.log.debug({ sockets: this.conns.size }, 'sending every socket away');
    for (const c of [...this.conns]) {
      const retry = Math.floor(Math.random() * (this.limits.goingAwayRetryMs + 1));
      c.send({ t: 'notice', kind: 'going_away', retryAfterMs: retry });
      c.close('going_away', retry);
    }
  }

  /**
   * First step of a shutdown: new upgrades are answered 503 (`unavailable`,
   * Retry-After: 1) while the node still listens and open sockets are served.
   */
  stopAdmitting(): void {
    this.draining = true;
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    if (!this.sentAway) this.drain();
    await this.engine.close();
  }
}
