/** Wire protocol version carried in `hello.v` and in the subprotocol names. */
export const PROTOCOL_VERSION = 1 as const;

/** WebSocket subprotocols a client may offer in `Sec-WebSocket-Protocol`. */
export const Subprotocol = {
  msgpack: 'shutter.v1.msgpack',
  json: 'shutter.v1.json',
} as const;
export type Subprotocol = (typeof Subprotocol)[keyof typeof Subprotocol];

export const SUBPROTOCOLS: readonly Subprotocol[] = [Subprotocol.msgpack, Subprotocol.json];

/** Path of the WebSocket endpoint on every node. */
export const WS_PATH = '/ws';

/** Default upper bound of one inbound frame, in bytes (the server's `maxFrameBytes` may differ). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
