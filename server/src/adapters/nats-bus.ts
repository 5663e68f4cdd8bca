import { errors, headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import {
  type Bus,
  BusClosed,
  BusNoResponders,
  BusRemoteError,
  type BusStatusListener,
  type BusSubscription,
  BusTimeout,
  type MessageHandler,
  type RequestHandler,
  type SubscribeOptions,
} from '@shutter/actors';

const ERROR_HEADER = 'Shutter-Error';

/**
 * A request made while the connection to NATS is down: nothing was sent.
 * Retryable (`isRetryable`): the actor runtime routes the message again, with
 * backoff, until it is sent after the reconnect or its deadline passes.
 */
export class BusNotConnected extends Error {
  override readonly name = 'BusNotConnected';
  readonly code = 'bus_not_connected';
  readonly retryable = true;
  constructor(subject: string) {
    super(`not connected to NATS: nothing was sent on ${subject}`);
  }
}

/**
 * The connection dropped while a request waited for its reply: the request
 * may or may not have been delivered, and a reply sent meanwhile is lost.
 * Not retryable as such (the cluster router re-sends keyed asks only).
 */
export class BusConnectionLost extends Error {
  override readonly name = 'BusConnectionLost';
  readonly code = 'bus_connection_lost';
  constructor(subject: string) {
    super(`the NATS connection dropped while a request on ${subject} waited for its reply`);
  }
}

/**
 * `Bus` over NATS core: subjects map one to one (the adapter prepends
 * `prefix.` so tests and deployments can share one server), request/reply uses
 * NATS inboxes, a serve handler's failure travels back in a header.
 *
 * Requests never wait out their timeout for a reply that cannot come: made
 * while disconnected they fail at once with `BusNotConnected` (nats.js would
 * buffer them, and the reply to a request flushed on reconnect was often
 * lost: 25 operations took two timeouts, 20.5 s, in the outage of issue 8);
 * waiting when the connection drops, they fail with `BusConnectionLost`.
 */
export class NatsBus implements Bus {
  private closed = false;
  private connected = true;
  private readonly statusListeners = new Set<BusStatusListener>();
  /** Fails each request waiting for a reply, when the connection drops. */
  private readonly waiting = new Set<() => void>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix = '',
  ) {
    this.statusListeners.add((status) => {
      this.connected = status === 'reconnected';
      if (status === 'disconnected') for (const fail of [...this.waiting]) fail();
    });
    void this.watchStatus();
  }

  onStatus(listener: BusStatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** nats.js reports `disconnect` when it loses its server and `reconnect` once it has one again. */
  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      const status =
        s.type === 'disconnect' ? 'disconnected' : s.type === 'reconnect' ? 'reconnected' : undefined;
      if (!status) continue;
      for (const l of this.statusListeners) {
        try {
          l(status);
        } catch {
          // a listener's failure is its own; the others still hear
        }
      }
    }
  }

  private subject(s: string): string {
    return this.prefix ? `${this.prefix}.${s}` : s;
  }

  private unprefix(s: string): string {
    return this.prefix ? s.slice(this.prefix.length + 1) : s;
  }

  publish(subject: string, payload: Uint8Array): void {
    if (this.closed) throw new BusClosed();
    this.nc.publish(this.subject(subject), payload);
  }

  subscribe(subject: string, handler: MessageHandler, options: SubscribeOptions = {}): BusSubscription {
    return this.sub(subject, options, (err, msg) => {
      if (!err) handler(msg.data, this.unprefix(msg.subject));
    });
  }

  serve(subject: string, handler: RequestHandler, options: SubscribeOptions = {}): BusSubscription {
    return this.sub(subject, options, (err, msg) => {
      if (err) return;
      Promise.resolve()
        .then(() => handler(msg.data, this.unprefix(msg.subject)))
        .then(
          (reply) => msg.respond(reply),
          (e: unknown) => {
            const h = headers();
            h.set(ERROR_HEADER, e instanceof Error ? e.message : String(e));
            msg.respond(new Uint8Array(), { headers: h });
          },
        );
    });
  }

  async request(subject: string, payload: Uint8Array, options: { timeoutMs: number }): Promise<Uint8Array> {
    if (this.closed) throw new BusClosed();
    if (!this.connected) throw new BusNotConnected(subject);
    let reply: Msg;
    let fail: () => void = () => {};
    const lost = new Promise<never>((_, reject) => {
      fail = () => reject(new BusConnectionLost(subject));
    });
    this.waiting.add(fail);
    try {
      reply = await Promise.race([
        this.nc.request(this.subject(subject), payload, { timeout: options.timeoutMs }),
        lost,
      ]);
    } catch (e) {
      if (e instanceof BusConnectionLost) throw e;
      if (e instanceof errors.TimeoutError) throw new BusTimeout(subject, options.timeoutMs);
      if (e instanceof errors.RequestError && e.isNoResponders()) throw new BusNoResponders(subject);
      if (e instanceof errors.RequestError && e.cause instanceof errors.TimeoutError) {
        throw new BusTimeout(subject, options.timeoutMs);
      }
      throw e;
    } finally {
      this.waiting.delete(fail);
    }
    const remote = reply.headers?.get(ERROR_HEADER);
    if (remote) throw new BusRemoteError(remote);
    return reply.data;
  }

  async flush(): Promise<void> {
    await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.nc.isClosed()) await this.nc.drain();
  }

  private sub(subject: string, options: SubscribeOptions, callback: (err: Error | null, msg: Msg) => void) {
    if (this.closed) throw new BusClosed();
    const s: Subscription = this.nc.subscribe(this.subject(subject), {
      ...(options.queue ? { queue: options.queue } : {}),
      callback,
    });
    return { subject, unsubscribe: () => s.unsubscribe() };
  }
}
