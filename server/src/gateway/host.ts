import type { AuthMessage, HelloMessage, ReqMessage, SubMessage, UnsubMessage } from '@shutter/protocol';
import type { Config } from '../config/index.js';
import type { Connection } from './connection.js';

export type GatewayLimits = Config['gateway'];

export interface GatewayCounters {
  connectionsOpened: number;
  connectionsClosed: number;
  upgradesRefused: number;
  framesIn: number;
  badFrames: number;
  rateLimited: number;
  slowConsumers: number;
  authFailures: number;
  requests: number;
  /** Leased subscriptions ended because the client did not renew them. */
  leasesLapsed: number;
}

/**
 * What a `Connection` needs from the node around it: limits, counters, the
 * clock, and where to hand the frames it does not answer itself. The
 * gateway implements it; a connection knows nothing else of the gateway, and
 * the gateway changes a connection's state only through its methods.
 */
export interface ConnectionHost {
  readonly limits: GatewayLimits;
  readonly counters: GatewayCounters;
  now(): number;
  /** Wait (ms) before this user may send another frame; 0 when a token was taken. */
  takeUserToken(userId: string): number;
  hello(conn: Connection, msg: HelloMessage): void;
  reauth(conn: Connection, msg: AuthMessage): void;
  request(conn: Connection, msg: ReqMessage): void;
  subscribe(conn: Connection, msg: SubMessage): void;
  unsubscribe(conn: Connection, msg: UnsubMessage): void;
  /** A leased subscription of `conn` is past its lease (seen by the sweep): end it unless renewed meanwhile. */
  leaseLapsed(conn: Connection, stream: string): void;
  /** The connection closed; `how` is the close name the server sent, or the code the peer closed with. */
  connectionClosed(conn: Connection, how?: string | number): void;
}
