import type { CloseAction } from '@shutter/protocol/wire';

/**
 * Why a connection ended when the client, not the server, ended it. Server
 * closes carry the WebSocket close code (1000, 1006, 4xxx) and its name from
 * `CloseCode`; these client situations use small codes below 1000 so the two
 * never collide (like centrifuge-js's disconnect codes).
 */
export const ClientCloseCode = {
  /** `client.disconnect()` was called. */
  disconnect_called: { code: 0, action: 'stop' },
  /** No frame arrived within the probe timeout after a ping: the socket is half-open. */
  half_open: { code: 1, action: 'resume' },
  /** The server did not answer `hello` with `welcome` in time. */
  handshake_timeout: { code: 2, action: 'backoff' },
  /** The WebSocket could not be created (bad URL, platform refused). */
  transport_error: { code: 3, action: 'backoff' },
  /** A fresh token is needed but there is no `getToken`, or it returned none. */
  no_token: { code: 4, action: 'stop' },
  /** `getToken()` failed; retried with backoff. */
  token_error: { code: 5, action: 'backoff' },
  /** The server picked a subprotocol the client did not offer. */
  bad_protocol: { code: 6, action: 'stop' },
  /**
   * The upgrade was answered with an HTTP status that retrying cannot change
   * (404 wrong path, 400/426 protocol, 401/403 from a proxy or the origin
   * allowlist; any 4xx but 408 and 429). `error` is an `UpgradeRefusedError`.
   * Only where the WebSocket exposes the status (`ws` in Node).
   */
  upgrade_refused: { code: 7, action: 'stop' },
  /** The upgrade was answered with 5xx, 408 or 429: retried after `Retry-After` or a backoff delay. */
  upgrade_unavailable: { code: 8, action: 'backoff' },
  /**
   * The socket closed (1006) before it opened: server down or unreachable,
   * DNS, TLS, or, where the platform hides HTTP statuses (browsers), also a
   * refused upgrade. `message` carries the platform's reason when it gave one.
   */
  connect_failed: { code: 9, action: 'backoff' },
  /**
   * The app went to the background (`setAppState`): the socket was closed
   * with 1000 and nothing reconnects until the app is back in the foreground.
   */
  background: { code: 10, action: 'resume' },
} as const satisfies Record<string, { code: number; action: CloseAction }>;

export type ClientCloseName = keyof typeof ClientCloseCode;
