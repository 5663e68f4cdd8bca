import { createRequire } from 'node:module';
import type { Frame } from '@shutter/protocol';
import type * as Uws from '@trufflesuite/uws-js-unofficial';
import { uwsHttpHandler } from '../http/uws-http.js';
import type { EngineHooks, EngineLimits, EngineSocket, SocketHandler, WsEngine } from './engine.js';
import { versionRefusal } from './ws-version.js';

const require = createRequire(import.meta.url);

/**
 * Checks a request head against MAX_HEADERS and MAX_HEADER_BYTES; returns the
 * refusal message, or undefined. Must run synchronously inside the handler.
 *
 * uWS itself (20.30, measured) caps a head at 48 headers and, when the head
 * arrives in more than one read, at 4096 bytes buffered; past either it sends
 * nothing (count: the socket waits for its ~10 s HTTP idle timeout; size: it
 * is closed at once). UWS_HTTP_MAX_HEADERS_SIZE has no effect in this build.
 * A head that arrives in one read is not size-limited by uWS, hence the byte
 * check here; its estimate counts the request line, `name: value` lines and
 * the blank line, as node:http's maxHeaderSize does.
 */
function headRefusal(req: Uws.HttpRequest, limits: EngineLimits): string | undefined {
  let count = 0;
  let bytes = req.getMethod().length + req.getUrl().length + (req.getQuery() ?? '').length + 14;
  req.forEach((k, v) => {
    count++;
    bytes += k.length + v.length + 4;
  });
  if (count > limits.maxHeaders) return `bad_request: more than ${limits.maxHeaders} request headers`;
  if (bytes > limits.maxHeaderBytes)
    return `bad_request: request head larger than ${limits.maxHeaderBytes} bytes`;
  return undefined;
}

/** Answers 431 and closes; called synchronously in a handler, where uWS has the response corked. */
function refuseHead(res: Uws.HttpResponse, message: string): void {
  res.writeStatus('431 Request Header Fields Too Large');
  res.writeHeader('content-type', 'application/json');
  res.end(JSON.stringify({ error: { code: 'bad_request', message } }), true);
}

/** Per socket in uWS: the upgrade's answer until `open`, then the two objects that serve it. */
interface UserData {
  protocol: string;
  remoteAddress: string;
  handler?: SocketHandler;
  sock?: UwsSocket;
}

/**
 * Loads uWebSockets.js and refuses to go on unless its native addon is in
 * use: the package silently falls back to a JS build that hangs WebSocket
 * routes and drops publishes (see docs/architecture.md).
 */
export function loadUws(): typeof Uws {
  const uws = require('@trufflesuite/uws-js-unofficial') as typeof Uws;
  const native = /\[native code\]/.test(Function.prototype.toString.call(uws.App)) && 'SSLApp' in uws;
  if (!native) {
    throw new Error(
      `TRANSPORT=uws needs the native uWebSockets.js addon, which did not load on Node ${process.versions.node} (${process.platform}-${process.arch}); use TRANSPORT=ws or Node 20 on glibc ≥ 2.36.`,
    );
  }
  return uws;
}

/** The native engine: uWebSockets.js for HTTP and WebSockets, with its own topic fan-out. */
export class UwsEngineImpl implements WsEngine {
  readonly name = 'uws' as const;
  private readonly uws = loadUws();
  private readonly app: Uws.TemplatedApp;
  private listenSocket: Uws.us_listen_socket | undefined;

  constructor(hooks: EngineHooks, limits: EngineLimits) {
    this.app = this.uws.App();
    this.app.ws<UserData>('/*', {
      compression: this.uws.DISABLED,
      maxPayloadLength: limits.maxPayloadBytes,
      // Twice the gateway's limit: between the two uWS still queues, so the
      // gateway's sweep sees the socket past its limit and closes it as a slow
      // consumer; only a socket that outruns the sweep has publishes skipped
      // (dropped), and its client resumes them from the history.
      maxBackpressure: limits.maxBackpressureBytes * 2,
      closeOnBackpressureLimit: 0,
      idleTimeout: 0,
      sendPingsAutomatically: false,
      upgrade: (res, req, context) => {
        // Everything is read from `req` synchronously: it is invalid after return.
        const tooBig = headRefusal(req, limits);
        if (tooBig) return refuseHead(res, tooBig);
        const badVersion = versionRefusal(req.getHeader('sec-websocket-version'));
        if (badVersion) {
          res.writeStatus(`${badVersion.status} ${badVersion.reason}`);
          for (const [k, v] of Object.entries(badVersion.headers)) res.writeHeader(k, v);
          res.writeHeader('content-type', 'application/json');
          res.end(JSON.stringify({ error: { code: 'bad_request', message: badVersion.message } }), true);
          return;
        }
        const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
        const key = req.getHeader('sec-websocket-key');
        const offered = req.getHeader('sec-websocket-protocol');
        const extensions = req.getHeader('sec-websocket-extensions');
        const origin = req.getHeader('origin');
        const forwardedFor = req.getHeader('x-forwarded-for');
        const decision = hooks.upgrade({
          path: req.getUrl(),
          origin: origin === '' ? undefined : origin,
          protocols: offered
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          remoteAddress,
          forwardedFor: forwardedFor === '' ? undefined : forwardedFor,
        });
        if (!decision.accept) {
          res.writeStatus(`${decision.status} Refused`);
          res.writeHeader('content-type', 'application/json');
          for (const [k, v] of Object.entries(decision.headers ?? {})) res.writeHeader(k, v);
          res.end(
            JSON.stringify({ error: { code: decision.message.split(':')[0], message: decision.message } }),
            true,
          );
          return;
        }
        res.upgrade<UserData>(
          { protocol: decision.protocol, remoteAddress: decision.address },
          key,
          decision.protocol,
          extensions,
          context,
        );
      },
      open: (ws) => {
        const data = ws.getUserData();
        const sock = new UwsSocket(ws, data.remoteAddress);
        data.sock = sock;
        data.handler = hooks.open(sock, data.protocol);
        // Interned constants instead of per-socket strings: nothing reads them after open.
        data.protocol = '';
        data.remoteAddress = '';
      },
      message: (ws, message, isBinary) => {
        const data = ws.getUserData();
        // The ArrayBuffer is only valid during this callback: copy or decode now.
        const frame: Frame = isBinary
          ? new Uint8Array(message.slice(0))
          : Buffer.from(message).toString('utf8');
        data.handler?.onMessage(frame, message.byteLength);
      },
      close: (ws, code) => {
        const data = ws.getUserData();
        if (data.sock) data.sock.closed = true;
        data.handler?.onClose(code);
      },
    });
    const http = uwsHttpHandler(hooks.http, {
      bodyTimeoutMs: limits.bodyTimeoutMs,
      sendTimeoutMs: limits.sendTimeoutMs,
    });
    this.app.any('/*', (res, req) => {
      const tooBig = headRefusal(req, limits);
      if (tooBig) return refuseHead(res, tooBig);
      http(res, req);
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (token) => {
        if (!token) return reject(new Error(`could not listen on ${host}:${port}`));
        this.listenSocket = token;
        resolve(this.uws.us_socket_local_port(token));
      });
    });
  }

  publish(topic: string, frame: Frame): void {
    this.app.publish(topic, frame, typeof frame !== 'string', false);
  }

  stopListening(): void {
    if (this.listenSocket) this.uws.us_listen_socket_close(this.listenSocket);
    this.listenSocket = undefined;
  }

  async close(): Promise<void> {
    // This uWS build has no app.close(): with the listen socket closed and
    // every WebSocket ended by the gateway, the loop has nothing left to hold.
    this.stopListening();
  }
}

class UwsSocket implements EngineSocket {
  closed = false;

  constructor(
    private readonly ws: Uws.WebSocket<UserData>,
    readonly remoteAddress: string,
  ) {}

  send(frame: Frame): void {
    if (this.closed) return;
    const r = this.ws.send(frame, typeof frame !== 'string', false);
    // 2: dropped, past maxBackpressure. 0 (queued, below the cap) is normal.
    if (r === 2) this.ws.getUserData().handler?.onBackpressure();
  }

  bufferedAmount(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  join(topic: string): void {
    if (!this.closed) this.ws.subscribe(topic);
  }

  leave(topic: string): void {
    if (!this.closed) this.ws.unsubscribe(topic);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason);
  }
}
