import {
  type ClientMessage,
  type Codec,
  jsonCodec,
  msgpackCodec,
  type ServerMessage,
} from '@shutter/protocol';
import { validateServerMessage } from '@shutter/protocol/validate';
import WebSocket from 'ws';

/** Omit that keeps a union a union. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * A bare protocol client for gateway tests: no SDK logic, every server frame
 * validated against the schema and kept in order, so tests see exactly what
 * went over the wire.
 */
export class RawClient {
  readonly messages: ServerMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: (() => void)[] = [];
  private nextId = 1;

  private constructor(
    readonly ws: WebSocket,
    readonly codec: Codec,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const decoded = codec.decode(isBinary ? new Uint8Array(data) : data.toString('utf8'));
      const v = validateServerMessage(decoded);
      if (!v.ok) throw new Error(`server sent an invalid frame: ${v.message}`);
      this.messages.push(v.value);
      this.wake();
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on('error', () => {});
  }

  static connect(
    url: string,
    codec: 'json' | 'msgpack' = 'msgpack',
    headers: Record<string, string> = {},
  ): Promise<RawClient> {
    const c = codec === 'json' ? jsonCodec : msgpackCodec;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, [c.subprotocol], { headers });
      const client = new RawClient(ws, c);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) =>
        reject(
          Object.assign(new Error(`HTTP ${res.statusCode}`), {
            status: res.statusCode,
            headers: res.headers,
          }),
        ),
      );
      ws.once('error', reject);
    });
  }

  /** Connects and authenticates; resolves after welcome. */
  static async open(url: string, token: string, codec: 'json' | 'msgpack' = 'msgpack'): Promise<RawClient> {
    const c = await RawClient.connect(url, codec);
    c.send({ t: 'hello', v: 1, token });
    await c.next((m) => m.t === 'welcome');
    return c;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(msg: ClientMessage): void {
    this.ws.send(this.codec.encode(msg));
  }

  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  id(): number {
    return this.nextId++;
  }

  /** Sends a request frame and resolves with its res or err. */
  async call(msg: WithoutId<Extract<ClientMessage, { id: number }>>): Promise<ServerMessage> {
    const id = this.id();
    const from = this.messages.length;
    this.send({ ...msg, id } as ClientMessage);
    return this.next((m) => (m.t === 'res' || m.t === 'err') && m.id === id, 5000, from);
  }

  /** Resolves with the first message (from `from` on) matching `pred`; removes nothing. */
  async next(pred: (m: ServerMessage) => boolean, timeoutMs = 5000, from = 0): Promise<ServerMessage> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(pred);
      if (found) return found;
      if (this.closed) throw new Error(`closed (${this.closed.code} ${this.closed.reason}) while waiting`);
      const left = end - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const end = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > end) throw new Error('socket did not close in time');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.closed;
  }

  events(stream?: string): Extract<ServerMessage, { t: 'ev' }>[] {
    return this.messages.filter(
      (m): m is Extract<ServerMessage, { t: 'ev' }> => m.t === 'ev' && (!stream || m.stream === stream),
    );
  }

  close(): void {
    this.ws.terminate();
  }
}
