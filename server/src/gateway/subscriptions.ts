import { randomBytes } from 'node:crypto';
import type { RenewResult, SubMessage, UnsubMessage } from '@shutter/protocol';
import { ShutterError } from '@shutter/protocol';
import type { PublicError } from '../errors.js';
import type { StreamHub } from '../streams/stream-hub.js';
import type { StreamLease, SubscribeAuthorizer } from './authorize.js';
import type { Connection, HeldLease } from './connection.js';

type ToPublic = (err: unknown, conn: Connection, what: string) => PublicError;

/**
 * `sub` and `unsub` frames: authorization, the per-connection limit, joining
 * and leaving the node's `StreamHub`, leases, and their order. Operations on
 * one stream of one connection run one after another, so `sub, unsub, sub`
 * in quick succession means exactly what it says, and a lapse never
 * overtakes a renewal sent before it.
 *
 * A stream the authorizer grants under a lease is answered with `leaseMs`;
 * `sub` again while it is held renews the lease (authorized again; answered
 * `renewed`, nothing replayed), and the gateway's once-a-second sweep ends
 * a lease that ran out (`lapse`: a `lease_expired` notice). The lease's
 * `leave` hook runs once whichever way the subscription ends.
 */
export class Subscriptions {
  constructor(
    private readonly hub: StreamHub,
    private readonly authorize: SubscribeAuthorizer,
    private readonly max: number,
    private readonly publicError: ToPublic,
    private readonly now: () => number,
  ) {}

  subscribe(conn: Connection, msg: SubMessage): void {
    conn.serial(msg.stream, async () => {
      if (!conn.isOpen) return;
      if (conn.leaseOf(msg.stream)) return this.renew(conn, msg);
      if (conn.isSubscribed(msg.stream)) {
        return conn.sendError(
          msg.id,
          new ShutterError('already_subscribed', `already subscribed to ${msg.stream}`),
        );
      }
      try {
        if (conn.subscriptionCount >= this.max) throw this.tooMany();
        const grant = await this.authorize(conn.userId, msg.stream);
        if (!grant) throw this.forbidden(msg.stream);
        if (grant !== true && grant.direct) return this.subscribeDirect(conn, msg, grant);
        const joined = await this.hub.join(msg.stream, conn, msg.from);
        if (!joined) return;
        if (!conn.isOpen) return this.hub.leave(msg.stream, conn);
        // Checked again: other streams' subscriptions may have completed meanwhile.
        if (conn.subscriptionCount >= this.max) {
          this.hub.leave(msg.stream, conn);
          throw this.tooMany();
        }
        if (grant === true) {
          conn.addSubscription(msg.stream, msg.id);
          conn.send({ t: 'res', id: msg.id, result: joined.result });
          return joined.deliver();
        }
        conn.addSubscription(msg.stream, msg.id, this.hold(grant.ms, grant));
        conn.send({ t: 'res', id: msg.id, result: { ...joined.result, leaseMs: grant.ms } });
        joined.deliver();
        grant.view?.(msg.stream, conn);
      } catch (err) {
        conn.sendError(msg.id, this.publicError(err, conn, `sub ${msg.stream}`));
      }
    });
  }

  unsubscribe(conn: Connection, msg: UnsubMessage): void {
    conn.serial(msg.stream, async () => {
      if (!this.end(conn, msg.stream)) {
        return conn.sendError(msg.id, new ShutterError('not_subscribed', `not subscribed to ${msg.stream}`));
      }
      conn.send({ t: 'res', id: msg.id, result: {} });
    });
  }

  /**
   * The sweep saw `stream`'s lease run out: ends it (`lapsed` is called),
   * unless a renewal queued before this came first.
   */
  lapse(conn: Connection, stream: string, lapsed: () => void): void {
    conn.serial(stream, async () => {
      const held = conn.leaseOf(stream);
      if (!conn.isOpen || !held || this.now() < held.until) return;
      this.end(conn, stream);
      conn.send({ t: 'notice', kind: 'lease_expired', stream });
      lapsed();
    });
  }

  /** A closed connection leaves every stream it was on. */
  dropAll(conn: Connection): void {
    for (const s of conn.subscribedStreams()) {
      this.hub.leave(s, conn);
      conn.leaseOf(s)?.lease.leave?.(s, conn);
    }
  }

  /**
   * A direct stream (`StreamLease.direct`): no hub, no history. The
   * subscription gets an epoch of its own at seq 0; a `from` (a resume)
   * answers `refetch`, since nothing was kept to replay.
   */
  private subscribeDirect(conn: Connection, msg: SubMessage, grant: StreamLease): void {
    if (!conn.isOpen) return;
    if (conn.subscriptionCount >= this.max) throw this.tooMany();
    const epoch = randomBytes(6).toString('base64url');
    conn.addSubscription(msg.stream, msg.id, { ...this.hold(grant.ms, grant), direct: { epoch, seq: 0 } });
    const status = msg.from ? 'refetch' : 'fresh';
    conn.send({ t: 'res', id: msg.id, result: { epoch, seq: 0, status, missed: 0, leaseMs: grant.ms } });
    grant.view?.(msg.stream, conn);
  }

  /**
   * `sub` for a leased stream the connection holds: authorized again, then
   * the lease runs anew. Refused: the subscription ends (`forbidden`). A
   * failure to decide (a database down) leaves the lease to run out.
   */
  private async renew(conn: Connection, msg: SubMessage): Promise<void> {
    try {
      const grant = await this.authorize(conn.userId, msg.stream);
      const held = conn.leaseOf(msg.stream);
      if (!conn.isOpen || !held) return;
      if (!grant) {
        this.end(conn, msg.stream);
        throw this.forbidden(msg.stream);
      }
      const lease = grant === true ? held.lease : grant;
      conn.renewLease(msg.stream, this.hold(lease.ms, lease));
      const result: RenewResult = { status: 'renewed', leaseMs: lease.ms };
      conn.send({ t: 'res', id: msg.id, result });
      lease.view?.(msg.stream, conn);
    } catch (err) {
      conn.sendError(msg.id, this.publicError(err, conn, `sub ${msg.stream}`));
    }
  }

  /** Ends a subscription of `conn` (false when it had none): the hub, then the lease's `leave`. */
  private end(conn: Connection, stream: string): boolean {
    const held = conn.leaseOf(stream);
    if (!conn.removeSubscription(stream)) return false;
    this.hub.leave(stream, conn);
    held?.lease.leave?.(stream, conn);
    return true;
  }

  private hold(ms: number, lease: HeldLease['lease']): HeldLease {
    return { until: this.now() + ms, lease };
  }

  private forbidden(stream: string): ShutterError {
    return new ShutterError('forbidden', `you may not subscribe to ${stream}`);
  }

  private tooMany(): ShutterError {
    return new ShutterError('too_many_subscriptions', `at most ${this.max} subscriptions per connection`);
  }
}
