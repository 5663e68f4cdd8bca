import { ShutterError } from '@shutter/protocol';
import type { LocalBlobStore } from '../../adapters/local-blob-store.js';
import type { BlobInfo } from '../../blobs/blob-store.js';
import { assertKey, isContentAddressed } from '../../blobs/keys.js';
import { sizeMismatch } from '../../blobs/meter.js';
import { UrlSigner } from '../../blobs/url-signer.js';
import type { HttpRequest, HttpResponse } from '../../http/types.js';
import { keyPatterns, type RouteSpec } from '../routes.js';
import { etagMatches, parseRange } from './range.js';

export interface MediaRoutesOptions {
  store: LocalBlobStore;
  /** Keys under these prefixes (uploaded originals, which may still carry GPS tags) need a presigned GET URL. */
  privatePrefixes?: readonly string[];
  /** Deepest key served (the router matches whole segments); default 8. */
  maxKeyDepth?: number;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const MUTABLE = 'public, max-age=300';

/**
 * The local store over HTTP, at `<mountPath>/<key>`: GET and HEAD with ETag,
 * If-None-Match (304), single byte ranges (206/416) and cache headers; and
 * PUT for the store's presigned object and part URLs. Only needed when the
 * node's store is a `LocalBlobStore`; with S3, clients talk to S3.
 */
export function createMediaRoutes(opts: MediaRoutesOptions): RouteSpec[] {
  const { store } = opts;
  const privatePrefixes = opts.privatePrefixes ?? ['uploads/', 'originals/'];
  const routes: RouteSpec[] = [];
  for (const { pattern, key } of keyPatterns(store.mountPath, opts.maxKeyDepth ?? 8)) {
    routes.push({
      method: 'GET',
      pattern,
      handler: (req, res) => serve(req, res, key(req.params)),
    });
    routes.push({
      method: 'PUT',
      pattern,
      handler: (req, res) => receive(req, res, key(req.params)),
    });
  }
  return routes;

  async function serve(req: HttpRequest, res: HttpResponse, key: string): Promise<void> {
    assertKey(key);
    const isPrivate = privatePrefixes.some((p) => key.startsWith(p));
    let grantedUntil: number | undefined;
    if (isPrivate || UrlSigner.isSigned(req.query))
      grantedUntil = store.verify('GET', key, req.query).expires;
    const info = await store.head(key);
    if (!info) throw new ShutterError('not_found', `no object ${key}`);
    res.header('etag', `"${info.etag}"`);
    res.header('last-modified', info.lastModified.toUTCString());
    res.header('cache-control', cacheControl(info, grantedUntil));
    res.header('accept-ranges', 'bytes');
    res.header('x-content-type-options', 'nosniff');
    if (etagMatches(req.headers['if-none-match'], info.etag)) {
      res.status(304).end();
      return;
    }
    const range = parseRange(req.headers.range, info.size);
    if (range === 'unsatisfiable') {
      res.status(416).header('content-range', `bytes */${info.size}`).end();
      return;
    }
    res.header('content-type', info.contentType);
    if (range) res.status(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
    res.header('content-length', String(range ? range.end - range.start + 1 : info.size));
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const obj = await store.get(key, range);
    try {
      for await (const chunk of obj.body) await res.write(chunk);
      res.end();
    } catch (e) {
      // The client went away mid-body: leaving the loop closed the file.
      if (!req.signal.aborted && !res.finished) throw e;
    }
  }

  async function receive(req: HttpRequest, res: HttpResponse, key: string): Promise<void> {
    assertKey(key);
    const grant = store.verify('PUT', key, req.query);
    const length = Number(req.headers['content-length']);
    if (!Number.isSafeInteger(length)) throw new ShutterError('bad_request', 'Content-Length is required');
    if (grant.contentLength !== undefined && length !== grant.contentLength)
      throw sizeMismatch(grant.contentLength, length);
    const type = req.headers['content-type'];
    if (grant.contentType !== undefined && type !== grant.contentType) {
      throw new ShutterError(
        'forbidden',
        `this URL accepts Content-Type ${grant.contentType} only (got ${type ?? 'none'})`,
      );
    }
    let etag: string;
    if (grant.uploadId !== undefined && grant.partNumber !== undefined) {
      etag = (await store.uploadPart(key, grant.uploadId, grant.partNumber, req.body(), length)).etag;
    } else {
      const meta = { contentType: type ?? 'application/octet-stream', size: length };
      etag = (await store.put(key, req.body(), meta)).etag;
    }
    // As S3 answers: 200, empty body, the ETag in a header.
    res.status(200).header('etag', `"${etag}"`).end();
  }
}

function cacheControl(info: BlobInfo, grantedUntil: number | undefined): string {
  if (grantedUntil !== undefined) {
    return `private, max-age=${Math.max(0, grantedUntil - Math.floor(Date.now() / 1000))}`;
  }
  if (info.cacheControl) return info.cacheControl;
  return isContentAddressed(info.key) ? IMMUTABLE : MUTABLE;
}
