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
 * `Bus` over NATS core: subjects map one to one (the adapter prepends
 * `prefix.` so tests and deployments can share one server), request/reply uses
 * NATS inboxes, a serve handler's failure travels back in a header.
 */
export class NatsBus implements Bus {
  private closed = false;
  private readonly statusListeners = new Set<BusStatusListener>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix = '',
  ) {
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
    let reply: Msg;
    try {
      reply = await this.nc.request(this.subject(subject), payload, { timeout: options.timeoutMs });
    } catch (e) {
      if (e instanceof errors.TimeoutError) throw new BusTimeout(subject, options.timeoutMs);
      if (e instanceof errors.RequestError && e.isNoResponders()) throw new BusNoResponders(subject);
      if (e instanceof errors.RequestError && e.cause instanceof errors.TimeoutError) {
        throw new BusTimeout(subject, options.timeoutMs);
      }
      throw e;
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
