import type { SubMessage, UnsubMessage } from '@shutter/protocol';
import { ShutterError } from '@shutter/protocol';
import type { PublicError } from '../errors.js';
import type { StreamHub } from '../streams/stream-hub.js';
import type { SubscribeAuthorizer } from './authorize.js';
import type { Connection } from './connection.js';

type ToPublic = (err: unknown, conn: Connection, what: string) => PublicError;

/**
 * `sub` and `unsub` frames: authorization, the per-connection limit, joining
 * and leaving the node's `StreamHub`, and their order. Operations on one
 * stream of one connection run one after another, so `sub, unsub, sub` in
 * quick succession means exactly what it says.
 */
export class Subscriptions {
  constructor(
    private readonly hub: StreamHub,
    private readonly authorize: SubscribeAuthorizer,
    private readonly max: number,
    private readonly publicError: ToPublic,
  ) {}

  subscribe(conn: Connection, msg: SubMessage): void {
    this.serial(conn, msg.stream, async () => {
      const subs = (conn.subs ??= new Map());
      if (!conn.isOpen) return;
      if (subs.has(msg.stream)) {
        return conn.sendError(
          msg.id,
          new ShutterError('already_subscribed', `already subscribed to ${msg.stream}`),
        );
      }
      try {
        if (subs.size >= this.max) throw this.tooMany();
        if (!(await this.authorize(conn.userId, msg.stream))) {
          throw new ShutterError('forbidden', `you may not subscribe to ${msg.stream}`);
        }
        const joined = await this.hub.join(msg.stream, conn, msg.from);
        if (!joined) return;
        if (!conn.isOpen) return this.hub.leave(msg.stream, conn);
        // Checked again: other streams' subscriptions may have completed meanwhile.
        if (subs.size >= this.max) {
          this.hub.leave(msg.stream, conn);
          throw this.tooMany();
        }
        subs.set(msg.stream, msg.id);
        conn.send({ t: 'res', id: msg.id, result: joined.result });
        joined.deliver();
      } catch (err) {
        conn.sendError(msg.id, this.publicError(err, conn, `sub ${msg.stream}`));
      }
    });
  }

  unsubscribe(conn: Connection, msg: UnsubMessage): void {
    this.serial(conn, msg.stream, async () => {
      if (!conn.subs?.delete(msg.stream)) {
        return conn.sendError(msg.id, new ShutterError('not_subscribed', `not subscribed to ${msg.stream}`));
      }
      this.hub.leave(msg.stream, conn);
      conn.send({ t: 'res', id: msg.id, result: {} });
    });
  }

  /** A closed connection leaves every stream it was on. */
  dropAll(conn: Connection): void {
    if (conn.subs) for (const s of conn.subs.keys()) this.hub.leave(s, conn);
  }

  private tooMany(): ShutterError {
    return new ShutterError('too_many_subscriptions', `at most ${this.max} subscriptions per connection`);
  }

  private serial(conn: Connection, stream: string, op: () => Promise<void>): void {
    const chains = (conn.chains ??= new Map());
    const next = (chains.get(stream) ?? Promise.resolve()).then(op);
    chains.set(stream, next);
    void next.finally(() => {
      if (chains.get(stream) === next) chains.delete(stream);
    });
  }
}
