import { streamKind } from '@shutter/protocol';

/** The connection that holds a leased subscription, as a lease's hooks see it. */
export interface LeaseHolder {
  readonly userId: string;
  /** The connection's session (unique on this node). */
  readonly session: string;
  /**
   * Sends `data` as the next `ev` of `stream` to this connection alone, if
   * it holds a direct lease on it (`StreamLease.direct`); false otherwise
   * (ended, closed), and nothing is sent.
   */
  push(stream: string, data: unknown): boolean;
}

/**
 * A subscription granted for `ms` only: the client renews it by sending
 * `sub` again (each renewal is authorized again), and the gateway's sweep
 * ends it when it lapses (a `lease_expired` notice). The hooks follow the
 * lease: `view` on the grant and on every renewal, `leave` once when it
 * ends however (unsub, lapse, a refused renewal, the socket closing). They
 * run on the gateway's path and MUST NOT throw or block: hand the news on
 * (a `tell`) and return.
 */
export interface StreamLease {
  readonly ms: number;
  /**
   * A direct stream: its events are neither stored nor published on the
   * bus; the capability sends each subscription its own (`LeaseHolder.push`),
   * numbered from 1 in an epoch of that subscription alone. A `sub` with
   * `from` answers `refetch`: nothing is kept to replay.
   */
  readonly direct?: boolean;
  view?(stream: string, holder: LeaseHolder): void;
  leave?(stream: string, holder: LeaseHolder): void;
}

/** Refused (`false`), granted (`true`), or granted under a lease. */
export type SubscribeGrant = boolean | StreamLease;

/** Decides whether `userId` may subscribe to `stream`, and on what terms. */
export type SubscribeAuthorizer = (
  userId: string,
  stream: string,
) => SubscribeGrant | Promise<SubscribeGrant>;

/**
 * The default policy: `user:<id>:…` streams belong to that user alone;
 * `topic:…` and `photo:…` streams are public; any other kind is refused
 * until a module declares it.
 */
export const defaultAuthorizer: SubscribeAuthorizer = (userId, stream) => {
  const kind = streamKind(stream);
  if (kind === 'user') return stream.split(':')[1] === userId;
  return kind === 'topic' || kind === 'photo';
};
