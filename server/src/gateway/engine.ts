import type { Frame } from '@shutter/protocol';
import type { HttpHandler } from '../http/types.js';

/**
 * A WebSocket engine (`ws` or uWebSockets.js) behind one interface. The
 * gateway never sees engine objects; engines never see protocol messages.
 */
export interface WsEngine {
  readonly name: 'ws' | 'uws';
  /** Starts listening; resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Sends `frame` to every socket joined to `topic`, framed once where the engine allows. */
  publish(topic: string, frame: Frame): void;
  /** Stops accepting; open sockets are left to the gateway to close. */
  stopListening(): void;
  /** Closes everything that is left. */
  close(): Promise<void>;
}

/** What an engine asks the gateway when an upgrade request arrives. */
export interface UpgradeRequest {
  readonly path: string;
  readonly origin: string | undefined;
  /** Offered subprotocols, in the client's order. */
  readonly protocols: string[];
  readonly remoteAddress: string;
  /** The request's `X-Forwarded-For`, if it has one (believed only from a trusted proxy). */
  readonly forwardedFor: string | undefined;
}

export type UpgradeDecision =
  /** `address`: the client's, which the socket then reports as its `remoteAddress`. */
  | { accept: true; protocol: string; address: string }
  | { accept: false; status: number; message: string; headers?: Record<string, string> };

/** One open socket, engine side. */
export interface EngineSocket {
  /** The client's address, as the upgrade decided it (the peer's, or the one a trusted proxy named). */
  readonly remoteAddress: string;
  /** Queues a frame; text frames for strings, binary for bytes. */
  send(frame: Frame): void;
  /** Bytes queued and not yet written to the network. */
  bufferedAmount(): number;
  join(topic: string): void;
  leave(topic: string): void;
  /** Sends a close frame; the engine terminates the socket if the peer does not finish the close in time. */
  close(code: number, reason: string): void;
}

/** The gateway's side of one socket, returned by `open`. */
export interface SocketHandler {
  onMessage(frame: Frame, size: number): void;
  onClose(code: number): void;
  /** More than `maxBackpressureBytes` is queued for this socket. */
  onBackpressure(): void;
}

export interface EngineHooks {
  upgrade(req: UpgradeRequest): UpgradeDecision;
  open(socket: EngineSocket, protocol: string): SocketHandler;
  http: HttpHandler;
}

export interface EngineLimits {
  /** Engine-level hard cap on a frame; the gateway applies the documented limit below it. */
  maxPayloadBytes: number;
  /** Queued bytes per socket past which the socket is a slow consumer (the engine reports it, or drops, never grows). */
  maxBackpressureBytes: number;
  maxHeaderBytes: number;
  maxHeaders: number;
  upgradeTimeoutMs: number;
  /** Longest wait for the next bytes of a request body being read (HTTP_BODY_TIMEOUT_MS). */
  bodyTimeoutMs: number;
  /** Longest wait for a client to take more of a response (HTTP_SEND_TIMEOUT_MS). */
  sendTimeoutMs: number;
}
