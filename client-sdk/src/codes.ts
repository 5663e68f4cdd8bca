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
} as const satisfies Record<string, { code: number; action: CloseAction }>;

export type ClientCloseName = keyof typeof ClientCloseCode;
