import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Frame } from '@shutter/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import { nodeHttpHandler } from '../http/node-http.js';
import type { EngineHooks, EngineLimits, EngineSocket, SocketHandler, WsEngine } from './engine.js';
import { versionRefusal } from './ws-version.js';

const CLOSE_GRACE_MS = 2000;

function tooManyHeaders(limits: EngineLimits): string {
  return `bad_request: more than ${limits.maxHeaders} request headers`;
}

/**
 * One unmasked, unfragmented WebSocket frame (RFC 6455 §5.2) as the server
 * sends it: text for strings, binary for bytes. No extension is ever
 * negotiated (perMessageDeflate is off), so the frame is the whole message.
 */
export function wsFrame(frame: Frame): Buffer {
  const payload = typeof frame === 'string' ? Buffer.from(frame, 'utf8') : frame;
  const n = payload.byteLength;
  const ext = n < 126 ? 0 : n < 65_536 ? 2 : 8;
  const out = Buffer.allocUnsafe(2 + ext + n);
  out[0] = 0x80 | (typeof frame === 'string' ? 1 : 2);
  out[1] = ext === 0 ? n : ext === 2 ? 126 : 127;
  if (ext === 2) out.writeUInt16BE(n, 2);
  else if (ext === 8) out.writeBigUInt64BE(BigInt(n), 2);
  out.set(payload, 2 + ext);
  return out;
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

/** The pure-JS engine: node:http for HTTP, `ws` for WebSockets, topics fanned out here. */
export class WsEngineImpl implements WsEngine {
  readonly name = 'ws' as const;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly topics = new Map<string, Set<WsSocket>>();
  private corked: WsSocket[] = [];

  constructor(
    private readonly hooks: EngineHooks,
    private readonly limits: EngineLimits,
  ) {
    const http = nodeHttpHandler(hooks.http, {
      bodyTimeoutMs: limits.bodyTimeoutMs,
      sendTimeoutMs: limits.sendTimeoutMs,
    });
    this.server = createServer(
      {
        // Over the limit node:http answers 431 itself.
        maxHeaderSize: limits.maxHeaderBytes,
        // Answered with 408. Node checks it only every connectionsCheckingInterval
        // (30 s by default, measured: a 1 s timeout fired after 29.7 s).
        headersTimeout: limits.upgradeTimeoutMs,
        connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(limits.upgradeTimeoutMs / 4))),
        // No bound on a request's total time (a large upload may take minutes): the
        // body is bounded by silence instead (HTTP_BODY_TIMEOUT_MS, in node-http.ts).
        requestTimeout: 0,
      },
      (req, res) => {
        if (req.rawHeaders.length / 2 > limits.maxHeaders) {
          res.writeHead(431, { 'content-type': 'application/json', connection: 'close' });
          res.end(JSON.stringify({ error: { code: 'bad_request', message: tooManyHeaders(limits) } }));
          return;
        }
        http(req, res);
      },
    );
    // node:http's own count limit only drops the headers past it (and not exactly):
    // keep them all (their bytes are bounded by maxHeaderSize) and refuse here.
    this.server.maxHeadersCount = 0;
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
    if (req.rawHeaders.length / 2 > this.limits.maxHeaders) {
      this.refuse(socket, 431, 'Request Header Fields Too Large', tooManyHeaders(this.limits));
      return;
    }
    const badVersion = versionRefusal(req.headers['sec-websocket-version']);
    if (badVersion) {
      this.refuse(socket, badVersion.status, badVersion.reason, badVersion.message, badVersion.headers);
      return;
    }
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
      forwardedFor: [req.headers['x-forwarded-for'] ?? []].flat().join(', ') || undefined,
    });
    if (!decision.accept) {
      const reason = decision.status === 503 ? 'Service Unavailable' : 'Refused';
      this.refuse(socket, decision.status, reason, decision.message, decision.headers);
      return;
    }
    (req as IncomingMessage & { chosenProtocol?: string }).chosenProtocol = decision.protocol;
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const sock = new WsSocket(ws, socket, decision.address, this);
      const handler = this.hooks.open(sock, decision.protocol);
      sock.attach(handler);
    });
  }

  /** Answers an upgrade request with an HTTP error and closes the socket. */
  private refuse(
    socket: Duplex,
    status: number,
    reason: string,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    const body = JSON.stringify({ error: { code: message.split(':')[0], message } });
    const extra = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${extra}\r\n${body}`,
    );
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
    // Framed once, the same bytes written to every socket (as uWS does natively).
    const framed = wsFrame(frame);
    for (const s of set) s.sendFramed(framed);
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

  /**
   * @internal Holds `s`'s writes until the end of this turn of the event
   * loop (setImmediate: after every read of this poll), so frames sent to a
   * socket in one turn leave in one write (writev) instead of one each. The
   * bytes stay in order; only their syscalls are merged.
   */
  corkUntilTurnEnd(s: WsSocket): void {
    this.corked.push(s);
    if (this.corked.length === 1) setImmediate(this.uncorkAll);
  }

  private readonly uncorkAll = (): void => {
    const list = this.corked;
    this.corked = [];
    for (const s of list) s.uncork();
  };

  /** @internal Bytes a turn holds back per socket before writing them anyway (a quarter of the backpressure limit, at most 64 KiB). */
  get corkFlushBytes(): number {
    return Math.min(64 * 1024, Math.floor(this.limits.maxBackpressureBytes / 4));
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
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
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
    if (!this.writable()) return;
    this.ws.send(frame);
    this.checkBackpressure();
  }

  /** @internal A frame already framed by `wsFrame`: written as it is (ws's sender holds nothing without compression). */
  sendFramed(bytes: Buffer): void {
    if (!this.writable()) return;
    this.socket.write(bytes);
    this.checkBackpressure();
  }

  private writable(): boolean {
    if (this.closing || this.ws.readyState !== 1) return false;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      this.engine.corkUntilTurnEnd(this);
    } else if (this.socket.writableLength >= this.engine.corkFlushBytes) {
      // Enough for one write: hand it to the kernel now. Bytes held back by the cork count as
      // queued, so a large turn would otherwise look like a slow consumer to the check below.
      this.socket.uncork();
      this.socket.cork();
    }
    return true;
  }

  private checkBackpressure(): void {
    // Told at once, so a slow consumer stops growing the queue now, not at the next sweep.
    if (this.ws.bufferedAmount > this.engine.maxBackpressure) this.handler?.onBackpressure();
  }

  /** @internal Writes what this turn queued (see WsEngineImpl.corkUntilTurnEnd). */
  uncork(): void {
    this.corked = false;
    this.socket.uncork();
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
    // The close frame (and what this turn sent before it) leaves now: a node shutting down
    // destroys its sockets before the turn's end would uncork them (the client saw 1006).
    if (this.corked) this.uncork();
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }
}
