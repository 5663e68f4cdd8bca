import { ShutterError } from '@shutter/protocol';
import type { PresignedRequest } from '../../blobs/blob-store.js';
import { parseJsonObject } from '../../http/json-body.js';
import type { HttpRequest, HttpResponse } from '../../http/types.js';
import type { Logger } from '../../log.js';
import type { RouteSpec } from '../routes.js';
import type { UploadService } from './upload-service.js';

export interface UploadHttpDeps {
  service: UploadService;
  log: Logger;
  /** Verifies `Authorization: Bearer <jwt>`; throws a ShutterError (auth_failed, token_expired) otherwise. */
  authenticate(req: HttpRequest): Promise<{ userId: string }>;
  /** Origin path-only presigned URLs (local store) resolve against; default: the request's own origin. */
  publicUrl?: string;
}

const JSON_LIMIT = 16 * 1024;

/** The upload API under /v1/uploads (see docs/media.md). Handlers use only HttpRequest/HttpResponse. */
export function createUploadHttpRoutes(deps: UploadHttpDeps): RouteSpec[] {
  const { service } = deps;
  const route = (
    method: RouteSpec['method'],
    pattern: string,
    fn: (req: HttpRequest, res: HttpResponse, userId: string) => Promise<void>,
  ): RouteSpec => ({
    method,
    pattern,
    handler: async (req, res) => fn(req, res, (await deps.authenticate(req)).userId),
  });
  const resolve = (req: HttpRequest, p: PresignedRequest): PresignedRequest =>
    p.url.startsWith('/') ? { ...p, url: origin(req, deps.publicUrl) + p.url } : p;

  return [
    route('PUT', '/v1/uploads/stream', async (req, res, userId) => {
      const length = req.headers['content-length'];
      const declared = length === undefined ? undefined : Number(length);
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      const out = await service.stream(userId, type, declared, req.body());
      res.json(201, out);
    }),
    route('POST', '/v1/uploads', async (req, res, userId) => {
      const b = await readJson(req);
      const mode = b.mode;
      if (mode !== undefined && mode !== 'single' && mode !== 'multipart')
        throw new ShutterError('bad_request', 'mode must be "single" or "multipart"');
      const out = await service.create(userId, {
        size: int(b.size, 'size'),
        contentType: str(b.contentType, 'contentType'),
        ...(mode ? { mode } : {}),
      });
      res.json(201, out.put ? { ...out, put: resolve(req, out.put) } : out);
    }),
    route('GET', '/v1/uploads/:id', async (req, res, userId) => {
      res.header('cache-control', 'no-store').json(200, await service.status(userId, req.params.id ?? ''));
    }),
    route('POST', '/v1/uploads/:id/parts/urls', async (req, res, userId) => {
      const b = await readJson(req);
      if (!Array.isArray(b.parts))
        throw new ShutterError('bad_request', 'parts must be an array of part numbers');
      const urls = await service.partUrls(
        userId,
        req.params.id ?? '',
        b.parts.map((n) => int(n, 'parts[]')),
      );
      res.json(200, { parts: urls.map((u) => resolve(req, u)) });
    }),
    route('PUT', '/v1/uploads/:id/parts/:n', async (req, res, userId) => {
      const length = req.headers['content-length'];
      if (length === undefined)
        throw new ShutterError('bad_request', 'Content-Length is required for a part');
      const part = await service.putPart(
        userId,
        req.params.id ?? '',
        int(Number(req.params.n), 'part number'),
        req.body(),
        Number(length),
      );
      res.header('etag', `"${part.etag}"`).json(200, part);
    }),
    route('POST', '/v1/uploads/:id/parts/:n', async (req, res, userId) => {
      const b = await readJson(req);
      res.json(
        200,
        await service.reportPart(
          userId,
          req.params.id ?? '',
          int(Number(req.params.n), 'part number'),
          str(b.etag, 'etag'),
        ),
      );
    }),
    route('POST', '/v1/uploads/:id/complete', async (req, res, userId) => {
      res.json(200, await service.complete(userId, req.params.id ?? ''));
    }),
    route('DELETE', '/v1/uploads/:id', async (req, res, userId) => {
      res.json(200, await service.abort(userId, req.params.id ?? ''));
    }),
  ];
}

/** The JSON object body (an empty body is `{}`), read as strictly as a socket frame. */
async function readJson(req: HttpRequest): Promise<Record<string, unknown>> {
  return parseJsonObject(await req.readAll(JSON_LIMIT), {});
}

function int(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw new ShutterError('bad_request', `${name} must be an integer`);
  return v;
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256)
    throw new ShutterError('bad_request', `${name} must be a non-empty string`);
  return v;
}

function origin(req: HttpRequest, publicUrl: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/$/, '');
  const proto = req.headers['x-forwarded-proto']?.split(',')[0]?.trim() === 'https' ? 'https' : 'http';
  return `${proto}://${req.headers.host ?? 'localhost'}`;
}
