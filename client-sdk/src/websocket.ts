import type { Frame } from '@shutter/protocol/wire';

// Method-style signatures make the handler parameters bivariant, so both the
// DOM WebSocket and `ws`'s WebSocket (whose event types are richer) fit.
type Handler<E> = { bivarianceHack(event: E): void }['bivarianceHack'];

/** The part of the WHATWG WebSocket the SDK uses; browsers, React Native, Node ≥ 22 and `ws` provide it. */
export interface WebSocketLike {
  binaryType: string;
  readonly protocol: string;
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export const WS_OPEN = 1;

/** `globalThis.WebSocket` where the platform has one. */
export function defaultWebSocket(): WebSocketConstructor | undefined {
  const ctor = (globalThis as { WebSocket?: unknown }).WebSocket;
  return typeof ctor === 'function' ? (ctor as WebSocketConstructor) : undefined;
}

/** Turns `MessageEvent.data` into a codec frame; undefined for Blob and other shapes. */
export function toFrame(data: unknown): Frame | undefined {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
