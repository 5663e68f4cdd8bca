import { ShutterError } from '@shutter/protocol';
import type { HttpRequest as UwsReq, HttpResponse as UwsRes } from '@trufflesuite/uws-js-unofficial';
import {
  announcesBody,
  BodyTimeoutError,
  ClientGoneError,
  DEFAULT_HTTP_OPTIONS,
  type HttpEngineOptions,
} from './body.js';
import { readAllBody } from './read-all.js';
import type { HttpHandler, HttpRequest, HttpResponse } from './types.js';

/** Bytes of request body buffered before the socket is paused. */
const HIGH_WATER = 256 * 1024;

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  206: 'Partial Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * Adapts a uWebSockets.js request to the engine-neutral interface.
 * MUST-rules of uWS: the request object is valid only inside this callback,
 * so everything is read from it at once; onAborted and onData are registered
 * before returning; after an abort the response is never touched; writes
 * outside the callback are corked.
 */
export function uwsHttpHandler(handler: HttpHandler, options: HttpEngineOptions = DEFAULT_HTTP_OPTIONS) {
  return (res: UwsRes, req: UwsReq): void => {
    const request = new UwsRequest(res, req, options.bodyTimeoutMs);
    const response = new UwsResponse(res, request, options.sendTimeoutMs);
    Promise.resolve(handler(request, response)).catch(() => response.end());
  };
}

class UwsRequest implements HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Record<string, string> = {};
  readonly remoteAddress: string;
  readonly signal: AbortSignal;
  params: Record<string, string> = {};
  aborted = false;

  private readonly abort = new AbortController();
  private readonly chunks: Uint8Array[] = [];
  private buffered = 0;
  private ended = false;
  private paused = false;
  private wake: (() => void) | undefined;
  private consumed = false;

  constructor(
    private readonly res: UwsRes,
    req: UwsReq,
    private readonly bodyTimeoutMs: number,
  ) {
    this.method = req.getCaseSensitiveMethod().toUpperCase();
    let path = req.getUrl();
    try {
      path = decodeURIComponent(path);
    } catch {
      // keep the raw path
    }
    this.path = path;
    this.query = new URLSearchParams(req.getQuery() ?? '');
    req.forEach((k, v) => {
      this.headers[k] = this.headers[k] === undefined ? v : `${this.headers[k]}, ${v}`;
    });
    this.remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
    this.signal = this.abort.signal;
    res.onAborted(() => {
      this.aborted = true;
      this.abort.abort();
      this.wake?.();
    });
    const hasBody = this.method !== 'GET' && this.method !== 'HEAD';
    if (!hasBody) {
      this.ended = true;
      return;
    }
    res.onData((ab, isLast) => {
      // The ArrayBuffer is neutered when this callback returns: copy it.
      if (ab.byteLength > 0) {
        this.chunks.push(new Uint8Array(ab.slice(0)));
        this.buffered += ab.byteLength;
      }
      if (isLast) this.ended = true;
      else if (this.buffered > HIGH_WATER && !this.paused) {
        this.paused = true;
        res.pause();
      }
      this.wake?.();
    });
  }

  async *body(): AsyncIterable<Uint8Array> {
    if (this.consumed) throw new ShutterError('bad_request', 'the request body was already read');
    this.consumed = true;
    for (;;) {
      const next = this.chunks.shift();
      if (next) {
        this.buffered -= next.byteLength;
        if (this.paused && this.buffered < HIGH_WATER / 2 && !this.aborted) {
          this.paused = false;
          this.res.resume();
        }
        yield next;
        continue;
      }
      if (this.aborted) throw new ClientGoneError();
      if (this.ended) return;
      let timer: NodeJS.Timeout | undefined;
      const woken = await new Promise<boolean>((r) => {
        this.wake = () => r(true);
        timer = setTimeout(() => r(false), this.bodyTimeoutMs);
      });
      clearTimeout(timer);
      this.wake = undefined;
      if (!woken) throw new BodyTimeoutError(this.bodyTimeoutMs);
    }
  }

  readAll(maxBytes: number): Promise<Buffer> {
    return readAllBody(this, maxBytes);
  }

  /** The request announced a body that has not fully arrived. */
  get bodyPending(): boolean {
    return !this.ended && announcesBody(this.headers);
  }
}

class UwsResponse implements HttpResponse {
  private code = 200;
  private readonly head: [string, string][] = [];
  private headWritten = false;
  private done = false;
  /** A streamed body of announced length (`content-length` set before the first write): sent with `tryEnd`. */
  private known: { total: number; complete: boolean } | undefined;

  constructor(
    private readonly res: UwsRes,
    private readonly req: UwsRequest,
    private readonly sendTimeoutMs: number,
  ) {}

  get finished(): boolean {
    return this.done || this.req.aborted;
  }

  get statusCode(): number {
    return this.code;
  }

  status(code: number): this {
    this.code = code;
    return this;
  }

  header(name: string, value: string): this {
    this.head.push([name.toLowerCase(), value]);
    return this;
  }

  private writeHead(): void {
    if (this.headWritten) return;
    this.headWritten = true;
    this.res.writeStatus(`${this.code} ${STATUS_TEXT[this.code] ?? 'Status'}`);
    for (const [k, v] of this.head) if (k !== 'content-length') this.res.writeHeader(k, v);
  }

  write(chunk: Uint8Array | string): Promise<void> {
    if (this.finished) return Promise.reject(new Error('the client went away'));
    if (this.req.method === 'HEAD') {
      this.res.cork(() => this.writeHead());
      return Promise.resolve();
    }
    if (!this.headWritten) {
      const len = this.head.find(([k]) => k === 'content-length')?.[1];
      // uWS writes Content-Length itself only through tryEnd; write() is chunked.
      if (len !== undefined) this.known = { total: Number(len), complete: false };
    }
    if (this.known) return this.writeKnown(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    let ok = true;
    this.res.cork(() => {
      this.writeHead();
      ok = this.res.write(chunk);
    });
    if (ok) return Promise.resolve();
    return this.writable(() => true);
  }

  /**
   * One chunk of a body of announced length. `tryEnd` takes what the socket
   * accepts now and nothing more; the rest is offered again, from the offset
   * uWS reports, each time the socket drains.
   */
  private writeKnown(bytes: Uint8Array): Promise<void> {
    const known = this.known!;
    const base = this.res.getWriteOffset();
    let ok = false;
    this.res.cork(() => {
      this.writeHead();
      const [accepted, done] = this.res.tryEnd(bytes, known.total);
      ok = accepted || done;
      if (done) known.complete = true;
    });
    if (ok) return Promise.resolve();
    return this.writable((offset) => {
      const [accepted, done] = this.res.tryEnd(bytes.subarray(offset - base), known.total);
      if (done) known.complete = true;
      return accepted || done;
    });
  }

  /** Resolves once `retry(offset)` reports the pending bytes taken; rejects when the client goes away. */
  private writable(retry: (offset: number) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      // A reader that takes nothing for HTTP_SEND_TIMEOUT_MS loses the connection (onAborted follows).
      const stalled = setTimeout(() => {
        if (!this.req.aborted) this.res.close();
      }, this.sendTimeoutMs);
      this.res.onWritable((offset) => {
        const taken = retry(offset);
        if (taken) {
          clearTimeout(stalled);
          resolve();
        }
        return taken;
      });
      this.req.signal.addEventListener(
        'abort',
        () => {
          clearTimeout(stalled);
          reject(new ClientGoneError());
        },
        { once: true },
      );
    });
  }

  end(body?: Uint8Array | string): void {
    if (this.finished) return;
    this.done = true;
    if (this.known) {
      // Every announced byte went out through tryEnd, which ended the response;
      // fewer bytes than announced cannot be ended cleanly: cut the connection.
      const known = this.known;
      const finish = () => {
        if (!known.complete && !this.req.aborted) this.res.close();
      };
      if (body !== undefined && body.length > 0) {
        this.writeKnown(typeof body === 'string' ? Buffer.from(body) : body).then(finish, () => {});
      } else finish();
      return;
    }
    this.res.cork(() => {
      this.writeHead();
      if (this.req.method === 'HEAD') {
        const len = this.head.find(([k]) => k === 'content-length')?.[1];
        this.res.endWithoutBody(len === undefined ? undefined : Number(len));
      }
      // Answered before the body fully arrived (an error, typically): close, as on the ws engine.
      else this.res.end(body ?? '', this.req.bodyPending);
    });
  }

  json(status: number, value: unknown): void {
    this.status(status).header('content-type', 'application/json; charset=utf-8');
    this.end(JSON.stringify(value));
  }
}
