import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Frame } from '@shutter/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import { nodeHttpHandler } from '../http/node-http.js';
import type { EngineHooks, EngineLimits, EngineSocket, SocketHandler, WsEngine } from './engine.js';

const CLOSE_GRACE_MS = 2000;

function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** The pure-JS engine: node:http for HTTP, `ws` for WebSockets, topics fanned out here. */
export class WsEngineImpl implements WsEngine {
  readonly name = 'ws' as const;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly topics = new Map<string, Set<WsSocket>>();

  constructor(
    private readonly hooks: EngineHooks,
    private readonly limits: EngineLimits,
  ) {
    this.server = createServer(
      { maxHeaderSize: limits.maxHeaderBytes, headersTimeout: limits.upgradeTimeoutMs, requestTimeout: 0 },
      nodeHttpHandler(hooks.http),
    );
    this.server.maxHeadersCount = limits.maxHeaders;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: limits.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
      // The protocol was chosen in `upgrade`; hand the same answer to ws.
      handleProtocols: (_offered, req) =>
        (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol ?? false,
    });
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A module-level listener: a closure here would keep `req` and `head` alive for the socket's life.
    socket.on('error', destroyOnError);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const decision = this.hooks.upgrade({
      path: q < 0 ? url : url.slice(0, q),
      origin: req.headers.origin,
      protocols: (req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      remoteAddress: req.socket.remoteAddress ?? '',
    });
    if (!decision.accept) {
      const body = JSON.stringify({
        error: { code: decision.message.split(':')[0], message: decision.message },
      });
      const extra = Object.entries(decision.headers ?? {})
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.end(
        `HTTP/1.1 ${decision.status} ${decision.status === 503 ? 'Service Unavailable' : 'Refused'}\r\n` +
          `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${extra}\r\n${body}`,
      );
      return;
    }
    (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol = decision.protocol;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const sock = new WsSocket(ws, req.socket.remoteAddress ?? '', this);
      const handler = this.hooks.open(sock, decision.protocol);
      sock.attach(handler);
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  publish(topic: string, frame: Frame): void {
    const set = this.topics.get(topic);
    if (!set) return;
    for (const s of set) s.send(frame);
  }

  /** @internal */
  join(topic: string, s: WsSocket): void {
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(s);
  }

  /** @internal */
  leave(topic: string, s: WsSocket): void {
    const set = this.topics.get(topic);
    if (set?.delete(s) && set.size === 0) this.topics.delete(topic);
  }

  /** @internal */
  get maxBackpressure(): number {
    return this.limits.maxBackpressureBytes;
  }

  stopListening(): void {
    this.server.close();
  }

  async close(): Promise<void> {
    this.server.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

class WsSocket implements EngineSocket {
  private handler: SocketHandler | undefined;
  private topics: Set<string> | undefined;
  private closing = false;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string,
    private readonly engine: WsEngineImpl,
  ) {}

  attach(handler: SocketHandler): void {
    this.handler = handler;
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      handler.onMessage(isBinary ? data : data.toString('utf8'), data.byteLength);
    });
    this.ws.on('close', (code: number) => {
      if (this.topics) for (const t of this.topics) this.engine.leave(t, this);
      handler.onClose(code);
    });
    this.ws.on('error', () => this.ws.terminate());
  }

  send(frame: Frame): void {
    if (this.closing || this.ws.readyState !== 1) return;
    this.ws.send(frame);
    // Told at once, so a slow consumer stops growing the queue now, not at the next sweep.
    if (this.ws.bufferedAmount > this.engine.maxBackpressure) this.handler?.onBackpressure();
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  join(topic: string): void {
    (this.topics ??= new Set()).add(topic);
    this.engine.join(topic, this);
  }

  leave(topic: string): void {
    this.topics?.delete(topic);
    this.engine.leave(topic, this);
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }
}
