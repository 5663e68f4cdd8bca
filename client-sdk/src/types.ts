import type {
  CloseAction,
  LimitsInfo,
  NoticeMessage,
  ShutterError,
  StreamPosition,
} from '@shutter/protocol/wire';

/**
 * States of a client:
 *
 * ```
 * disconnected ──connect()──▶ connecting ──welcome──▶ connected
 *      ▲                          │  ▲                    │
 *      │ stop / disconnect()      │  └─── (retry) ───┐     │ socket lost
 *      └──────────────────────────┴────── reconnecting ◀───┘
 * ```
 * `connecting` is the first attempt(s) after `connect()`; `reconnecting`
 * follows the loss of a connection that had been `connected`.
 */
export type ClientState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

/** Why a connection ended, and what the client does about it. */
export interface DisconnectReason {
  /** `server`: a WebSocket close; `client`: the SDK closed it (see `ClientCloseCode`). */
  source: 'server' | 'client';
  /** WebSocket close code for server closes, `ClientCloseCode` for client ones. */
  code: number;
  /** `CloseCode` name, `abnormal` (1006), `unknown`, or a `ClientCloseCode` name. */
  name: string;
  action: CloseAction;
  /** Close reason text or a sentence from the SDK. */
  message: string;
  /** Server-directed delay before reconnecting, when the server gave one. */
  retryAfterMs?: number;
  /** The `err` frame the server sent just before closing, or the `UpgradeRefusedError` of a refused upgrade. */
  error?: ShutterError;
}

export interface StateChange {
  state: ClientState;
  previous: ClientState;
  /** Set when the change follows the end of a connection. */
  reason?: DisconnectReason;
}

export interface ConnectedInfo {
  session: string;
  user: string;
  node: string;
  /** Token expiry, ms since the Unix epoch (updated by re-auth). */
  expiresAt: number;
  limits: LimitsInfo;
  /** The codec the server selected for this connection. */
  codec: 'msgpack' | 'json';
}

export interface ReconnectInfo {
  /** How long the client waits before the next attempt. */
  delayMs: number;
  reason: DisconnectReason;
}

export type ClientErrorKind =
  /** An `err` frame without a request id, e.g. `bad_request` for a malformed frame. */
  | 'server'
  /** The WebSocket reported an error (refused upgrade, network). */
  | 'transport'
  /** A server frame could not be decoded or has an unknown shape. */
  | 'decode'
  /** `getToken()` failed. */
  | 'token'
  /** Re-auth on the open socket failed. */
  | 'reauth'
  /** A subscription failed for good (its own `onError` also hears it). */
  | 'subscription';

export interface ClientErrorEvent {
  kind: ClientErrorKind;
  error: Error;
}

/** Events of a client and their payloads. */
export interface ClientEvents {
  state: StateChange;
  connected: ConnectedInfo;
  /** The client stopped (`disconnected` state); it will not reconnect by itself. */
  disconnected: DisconnectReason;
  /** A connection was lost or an attempt failed; another attempt follows after `delayMs`. */
  reconnect: ReconnectInfo;
  error: ClientErrorEvent;
  notice: NoticeMessage;
  /** The token was replaced on the open socket. */
  reauth: { expiresAt: number };
}

export type { StreamPosition };
