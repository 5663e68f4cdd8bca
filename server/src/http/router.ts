import { ErrorCodes, isErrorCode, ShutterError } from '@shutter/protocol';
import { toPublicError } from '../errors.js';
import type { Logger } from '../log.js';
import { BodyTimeoutError, ClientGoneError } from './body.js';
import type { HttpHandler, HttpRequest, HttpResponse } from './types.js';

interface Route {
  method: string;
  pattern: string;
  segments: string[];
  handler: HttpHandler;
}

/** The HTTP status of an error code (from the protocol's table). */
export function httpStatusOf(code: string): number {
  return isErrorCode(code) ? ErrorCodes[code].http : 400;
}

/**
 * Routes by method and path pattern (`/v1/uploads/:id/parts/:n`). A thrown
 * `ShutterError` becomes `{ "error": { code, message, … } }` with its status;
 * anything else is logged and answered as `internal_error`.
 */
export class HttpRouter {
  private readonly routes: Route[] = [];

  constructor(
    private readonly log: Logger,
    private readonly exposeErrors = false,
  ) {}

  on(method: string, pattern: string, handler: HttpHandler): this {
    this.routes.push({
      method: method.toUpperCase(),
      pattern,
      segments: pattern.split('/').filter(Boolean),
      handler,
    });
    return this;
  }

  async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
    const parts = req.path.split('/').filter(Boolean);
    let pathMatched = false;
    for (const route of this.routes) {
      const params = match(route.segments, parts);
      if (!params) continue;
      pathMatched = true;
      if (route.method !== req.method && !(route.method === 'GET' && req.method === 'HEAD')) continue;
      req.params = params;
      req.route = route.pattern;
      try {
        await route.handler(req, res);
      } catch (err) {
        this.fail(res, err, req);
      }
      return;
    }
    if (pathMatched) {
      // RFC 9110 §15.5.6: a 405 names the methods the resource does allow.
      res.header('allow', this.allowedMethods(parts).join(', '));
      this.fail(
        res,
        new ShutterError('bad_request', `${req.method} is not allowed on ${req.path}`),
        req,
        405,
      );
    } else this.fail(res, new ShutterError('not_found', `no route for ${req.method} ${req.path}`), req);
  }

  /** Every method some route answers on this path (`HEAD` wherever `GET`). */
  private allowedMethods(parts: string[]): string[] {
    const methods = new Set<string>();
    for (const route of this.routes) {
      if (!match(route.segments, parts)) continue;
      methods.add(route.method);
      if (route.method === 'GET') methods.add('HEAD');
    }
    return [...methods];
  }

  private fail(res: HttpResponse, err: unknown, req: HttpRequest, status?: number): void {
    // Expected: a client that hangs up mid-request (an upload dropped mid-body) is nobody's error.
    if (err instanceof ClientGoneError || req.signal.aborted) {
      this.log.debug({ method: req.method, path: req.path, route: req.route }, 'http client went away');
      return;
    }
    const e = toPublicError(err, this.log, { path: req.path, method: req.method }, this.exposeErrors);
    const answer = err instanceof BodyTimeoutError ? 408 : (status ?? httpStatusOf(e.code));
    this.log.debug(
      {
        method: req.method,
        path: req.path,
        route: req.route,
        status: answer,
        code: e.code,
        reason: e.message,
      },
      'http request refused',
    );
    if (res.finished) return;
    if (e.retryAfterMs !== undefined) res.header('retry-after', String(Math.ceil(e.retryAfterMs / 1000)));
    res.json(answer, { error: e });
  }
}

function match(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const v = parts[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = v;
    else if (p !== v) return undefined;
  }
  return params;
}
