import type { HttpHandler } from './types.js';

const ALLOW_METHODS = 'GET, HEAD, PUT, POST, DELETE, OPTIONS';
const ALLOW_HEADERS = 'authorization, content-type, content-length, if-none-match, range';
const EXPOSE_HEADERS = 'etag, retry-after, content-length, content-range';

/**
 * CORS for browser apps on other origins: `origins` empty allows any origin
 * (the API authenticates with bearer tokens, never cookies), otherwise only
 * those listed (the same `ALLOWED_ORIGINS` as WebSocket upgrades). Answers
 * preflights itself and exposes `ETag`, which multipart uploads must read.
 */
export function withCors(origins: readonly string[], next: HttpHandler): HttpHandler {
  return (req, res) => {
    const origin = req.headers.origin;
    const allowed = origin !== undefined && (origins.length === 0 || origins.includes(origin));
    if (allowed) {
      res.header('access-control-allow-origin', origin).header('vary', 'origin');
      res.header('access-control-expose-headers', EXPOSE_HEADERS);
    }
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      if (allowed) {
        res
          .header('access-control-allow-methods', ALLOW_METHODS)
          .header('access-control-allow-headers', ALLOW_HEADERS)
          .header('access-control-max-age', '600');
      }
      res.status(allowed ? 204 : 403).end();
      return;
    }
    return next(req, res);
  };
}
