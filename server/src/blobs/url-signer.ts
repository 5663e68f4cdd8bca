import { createHmac, timingSafeEqual } from 'node:crypto';
import { ShutterError } from '@shutter/protocol';

/** What a local-store presigned URL grants: one method on one key (or part) until `expires` (unix seconds). */
export interface SignedGrant {
  method: 'PUT' | 'GET';
  key: string;
  expires: number;
  contentType?: string;
  contentLength?: number;
  uploadId?: string;
  partNumber?: number;
}

const PARAMS = {
  expires: 'X-Shutter-Expires',
  type: 'X-Shutter-Type',
  length: 'X-Shutter-Length',
  upload: 'uploadId',
  part: 'partNumber',
  sig: 'X-Shutter-Signature',
} as const;

/**
 * HMAC-SHA256 signatures for the local store's presigned URLs: the node-local
 * counterpart of S3's SigV4 query signing. Every bound field is in the query
 * (readable, so refusals can say what was expected) and covered by the MAC.
 */
export class UrlSigner {
  constructor(private readonly secret: string | Uint8Array) {}

  /** The query string (without `?`) granting `g`. */
  sign(g: SignedGrant): string {
    const q = new URLSearchParams();
    q.set(PARAMS.expires, String(g.expires));
    if (g.contentType !== undefined) q.set(PARAMS.type, g.contentType);
    if (g.contentLength !== undefined) q.set(PARAMS.length, String(g.contentLength));
    if (g.uploadId !== undefined) q.set(PARAMS.upload, g.uploadId);
    if (g.partNumber !== undefined) q.set(PARAMS.part, String(g.partNumber));
    q.set(PARAMS.sig, this.mac(g));
    return q.toString();
  }

  /** True when the query carries a signature at all (otherwise the request is anonymous). */
  static isSigned(query: URLSearchParams): boolean {
    return query.has(PARAMS.sig);
  }

  /**
   * The grant a request's query carries: `forbidden` when the signature is
   * missing or does not match, `url_expired` when it is past its expiry.
   */
  verify(method: 'PUT' | 'GET', key: string, query: URLSearchParams, nowMs: number): SignedGrant {
    const sig = query.get(PARAMS.sig);
    const expires = Number(query.get(PARAMS.expires));
    if (!sig || !Number.isSafeInteger(expires)) throw new ShutterError('forbidden', 'this URL is not signed');
    const g: SignedGrant = { method, key, expires };
    const type = query.get(PARAMS.type);
    if (type !== null) g.contentType = type;
    const len = query.get(PARAMS.length);
    if (len !== null) g.contentLength = Number(len);
    const upload = query.get(PARAMS.upload);
    if (upload !== null) g.uploadId = upload;
    const part = query.get(PARAMS.part);
    if (part !== null) g.partNumber = Number(part);
    const want = Buffer.from(this.mac(g));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new ShutterError('forbidden', 'the URL signature does not match (was the URL changed?)');
    }
    if (expires * 1000 < nowMs) {
      throw new ShutterError(
        'url_expired',
        `this URL expired at ${new Date(expires * 1000).toISOString()}; ask for a new one`,
      );
    }
    return g;
  }

  private mac(g: SignedGrant): string {
    const canonical = JSON.stringify([
      g.method,
      g.key,
      g.expires,
      g.contentType ?? null,
      g.contentLength ?? null,
      g.uploadId ?? null,
      g.partNumber ?? null,
    ]);
    return createHmac('sha256', this.secret).update(canonical).digest('base64url');
  }
}
