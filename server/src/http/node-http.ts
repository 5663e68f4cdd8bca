import type { IncomingMessage, ServerResponse } from 'node:http';
import { ShutterError } from '@shutter/protocol';
import {
  announcesBody,
  ClientGoneError,
  DEFAULT_HTTP_OPTIONS,
  type HttpEngineOptions,
  idleBounded,
} from './body.js';
import { readAllBody } from './read-all.js';
import type { HttpHandler, HttpRequest, HttpResponse } from './types.js';

/**
 * Adapts node:http's request/response pair to the engine-neutral interface.
 * A response that ends before its request's body has fully arrived (an error
 * answer that did not read it, typically) closes the connection: node:http
 * would otherwise keep reading the rest for the next request, with no bound.
 */
export function nodeHttpHandler(handler: HttpHandler, options: HttpEngineOptions = DEFAULT_HTTP_OPTIONS) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const request = new NodeRequest(req, res, options.bodyTimeoutMs);
    const response = new NodeResponse(
      res,
      request.method === 'HEAD',
      options.sendTimeoutMs,
      () => announcesBody(request.headers) && !req.complete,
    );
    Promise.resolve(handler(request, response)).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
}

function lowerHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

class NodeRequest implements HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Record<string, string>;
  readonly remoteAddress: string;
  readonly signal: AbortSignal;
  params: Record<string, string> = {};
  private consumed = false;

  constructor(
    private readonly req: IncomingMessage,
    res: ServerResponse,
    private readonly bodyTimeoutMs: number,
  ) {
    this.method = req.method ?? 'GET';
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    let path = q < 0 ? raw : raw.slice(0, q);
    try {
      path = decodeURIComponent(path);
    } catch {
      // keep the raw path; routes will not match it
    }
    this.path = path;
    this.query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    this.headers = lowerHeaders(req);
    this.remoteAddress = req.socket.remoteAddress ?? '';
    const ac = new AbortController();
    this.signal = ac.signal;
    res.on('close', () => {
      if (!res.writableFinished) ac.abort();
    });
  }

  body(): AsyncIterable<Uint8Array> {
    if (this.consumed) throw new ShutterError('bad_request', 'the request body was already read');
    this.consumed = true;
    // IncomingMessage is a Readable: async iteration pulls one chunk at a time
    // and the socket is paused while the consumer awaits.
    return idleBounded(
      this.req as AsyncIterable<Uint8Array>,
      this.bodyTimeoutMs,
      (err) => this.signal.aborted || this.req.destroyed || (err as { code?: string }).code === 'ECONNRESET',
    );
  }

  readAll(maxBytes: number): Promise<Buffer> {
    return readAllBody(this, maxBytes, () => this.req.destroy());
  }
}

class NodeResponse implements HttpResponse {
  private code = 200;
  private readonly head: Record<string, string> = {};

  constructor(
    private readonly res: ServerResponse,
    private readonly isHead: boolean,
    private readonly sendTimeoutMs: number,
    private readonly bodyPending: () => boolean,
  ) {}

  get finished(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  get statusCode(): number {
    return this.code;
  }

  status(code: number): this {
    this.code = code;
    return this;
  }

  header(name: string, value: string): this {
    this.head[name.toLowerCase()] = value;
    return this;
  }

  private flushHead(): void {
    if (this.res.headersSent) return;
    if (this.bodyPending()) this.head.connection = 'close';
    this.res.writeHead(this.code, this.head);
  }

  write(chunk: Uint8Array | string): Promise<void> {
    if (this.finished) return Promise.reject(new Error('the client went away'));
    this.flushHead();
    if (this.isHead) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (this.res.write(chunk)) return resolve();
      // A reader that takes nothing for HTTP_SEND_TIMEOUT_MS loses the connection.
      const stalled = setTimeout(() => this.res.destroy(), this.sendTimeoutMs);
      const onDrain = () => {
        clearTimeout(stalled);
        this.res.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        clearTimeout(stalled);
        this.res.off('drain', onDrain);
        reject(new ClientGoneError());
      };
      this.res.once('drain', onDrain);
      this.res.once('close', onClose);
    });
  }

  end(body?: Uint8Array | string): void {
    if (this.finished) return;
    if (body !== undefined && !this.res.headersSent && this.head['content-length'] === undefined) {
      this.head['content-length'] = String(
        typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
      );
    }
    this.flushHead();
    if (this.isHead || body === undefined) this.res.end();
    else this.res.end(body);
  }

  json(status: number, value: unknown): void {
    this.status(status).header('content-type', 'application/json; charset=utf-8');
    this.end(JSON.stringify(value));
  }
}
