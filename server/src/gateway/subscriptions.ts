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
    conn.serial(msg.stream, async () => {
      if (!conn.isOpen) return;
      if (conn.isSubscribed(msg.stream)) {
        return conn.sendError(
          msg.id,
          new ShutterError('already_subscribed', `already subscribed to ${msg.stream}`),
        );
      }
      try {
        if (conn.subscriptionCount >= this.max) throw this.tooMany();
        if (!(await this.authorize(conn.userId, msg.stream))) {
          throw new ShutterError('forbidden', `you may not subscribe to ${msg.stream}`);
        }
        const joined = await this.hub.join(msg.stream, conn, msg.from);
        if (!joined) return;
        if (!conn.isOpen) return this.hub.leave(msg.stream, conn);
        // Checked again: other streams' subscriptions may have completed meanwhile.
        if (conn.subscriptionCount >= this.max) {
          this.hub.leave(msg.stream, conn);
          throw this.tooMany();
        }
        conn.addSubscription(msg.stream, msg.id);
        conn.send({ t: 'res', id: msg.id, result: joined.result });
        joined.deliver();
      } catch (err) {
        conn.sendError(msg.id, this.publicError(err, conn, `sub ${msg.stream}`));
      }
    });
  }

  unsubscribe(conn: Connection, msg: UnsubMessage): void {
    conn.serial(msg.stream, async () => {
      if (!conn.removeSubscription(msg.stream)) {
        return conn.sendError(msg.id, new ShutterError('not_subscribed', `not subscribed to ${msg.stream}`));
      }
      this.hub.leave(msg.stream, conn);
      conn.send({ t: 'res', id: msg.id, result: {} });
    });
  }

  /** A closed connection leaves every stream it was on. */
  dropAll(conn: Connection): void {
    for (const s of conn.subscribedStreams()) this.hub.leave(s, conn);
  }

  private tooMany(): ShutterError {
    return new ShutterError('too_many_subscriptions', `at most ${this.max} subscriptions per connection`);
  }
}
