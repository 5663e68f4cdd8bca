import { type ClientMessage, type Codec, codecFor, type ServerMessage } from '@shutter/protocol';
import type { WebSocketLike } from '../websocket.js';

/**
 * A WebSocket double without any I/O, for tests on fake timers: every
 * instance is recorded; the test opens it, feeds it server messages and
 * closes it with any code, all synchronously.
 */
export class MockWebSocket implements WebSocketLike {
  static instances: MockWebSocket[] = [];
  static reset(): void {
    MockWebSocket.instances = [];
  }

  binaryType = 'blob';
  protocol = '';
  readyState = 0;
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  readonly url: string;
  readonly protocols: string[];
  readonly sent: ClientMessage[] = [];
  readonly createdAt = Date.now();
  closedByClient: { code: number | undefined; reason: string | undefined } | undefined;
  readonly #codec: Codec;

  constructor(url: string, protocols?: string | string[]) {
    this.url = url;
    this.protocols = typeof protocols === 'string' ? [protocols] : (protocols ?? []);
    const codec = codecFor(this.protocols[0] ?? '');
    if (!codec) throw new Error('MockWebSocket: no known subprotocol offered');
    this.#codec = codec;
    MockWebSocket.instances.push(this);
  }

  send(data: string | Uint8Array): void {
    this.sent.push(this.#codec.decode(data) as ClientMessage);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    this.readyState = 3;
  }

  // ---- driven by the test ----

  serverOpen(): void {
    this.protocol = this.protocols[0] ?? '';
    this.readyState = 1;
    this.onopen?.({});
  }

  serverSend(message: ServerMessage): void {
    const frame = this.#codec.encode(message);
    const data =
      typeof frame === 'string'
        ? frame
        : frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength);
    this.onmessage?.({ data });
  }

  serverWelcome(pingIntervalMs = 25_000): void {
    this.serverOpen();
    this.serverSend({
      t: 'welcome',
      v: 1,
      session: 's',
      user: 'u',
      expiresAt: Date.now() + 3_600_000,
      node: 'n',
      limits: { maxFrameBytes: 65_536, pingIntervalMs, idleTimeoutMs: 60_000, maxSubscriptions: 100 },
    });
  }

  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}
