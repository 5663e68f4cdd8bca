import { type ErrorCode, isErrorCode, ShutterError, type ShutterErrorOptions } from '@shutter/protocol/wire';

/** The part of the WHATWG `fetch` the upload helper uses; browsers, React Native and Node ≥ 18 have it. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** A presigned request as the upload API hands it out (docs/media.md). */
export interface PresignedPut {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** Epoch ms. */
  expiresAt: number;
}

/** What the server says about an upload (`GET /v1/uploads/:id` and the other answers). */
export interface UploadView {
  uploadId: string;
  mode: 'single' | 'multipart' | 'stream';
  status: 'pending' | 'completing' | 'stored' | 'completed' | 'aborted' | 'expired' | 'failed';
  size: number;
  contentType: string;
  expiresAt: string;
  partSize?: number;
  partCount?: number;
  parts?: { partNumber: number; etag: string; size: number }[];
  missing?: number[];
  /**
   * A pending single-PUT upload in `GET /v1/uploads/:id`: what the store
   * holds at the upload URL (`null`: nothing yet). Absent when the server
   * could not tell.
   */
  received?: { size: number } | null;
}

export interface MediaRef {
  mediaId: string;
  /** `processing` (watch `user:<id>:media` for ready/failed) or `ready` (same bytes seen before). */
  status: string;
}

/** Body types `fetch` takes everywhere: a Blob slice, or bytes backed by a plain ArrayBuffer. */
export type PartBody = Blob | Uint8Array<ArrayBuffer>;

/** Errors that may pass if the same request is sent again (after a backoff). */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof ShutterError)) return false;
  switch (err.code) {
    case 'disconnected':
    case 'unavailable':
    case 'timeout':
    case 'internal_error':
    case 'rate_limited':
    case 'over_capacity':
    // A presigned URL past its expiry (or refused by S3 with a 403): a fresh one fixes it.
    case 'url_expired':
      return true;
    case 'conflict':
      return err.retryAfterMs !== undefined;
    default:
      return false;
  }
}

/**
 * The upload API of docs/media.md over `fetch`: bearer token on API calls
 * (asked again once after a 401), none on presigned URLs; every failure
 * becomes a `ShutterError` (network failures are `disconnected`).
 */
export class UploadApi {
  #token: string | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly getToken: () => Promise<string>,
    private readonly fetch: FetchLike,
  ) {}

  create(size: number, contentType: string, mode: 'single' | 'multipart' | undefined, signal?: AbortSignal) {
    const body = { size, contentType, ...(mode ? { mode } : {}) };
    return this.call<{ upload: UploadView; put?: PresignedPut }>('POST', '/v1/uploads', body, signal);
  }

  status(id: string, signal?: AbortSignal): Promise<UploadView> {
    return this.call('GET', `/v1/uploads/${encodeURIComponent(id)}`, undefined, signal);
  }

  async partUrls(
    id: string,
    parts: number[],
    signal?: AbortSignal,
  ): Promise<(PresignedPut & { partNumber: number })[]> {
    const path = `/v1/uploads/${encodeURIComponent(id)}/parts/urls`;
    const out = await this.call<{ parts: (PresignedPut & { partNumber: number })[] }>(
      'POST',
      path,
      { parts },
      signal,
    );
    return out.parts;
  }

  reportPart(id: string, n: number, etag: string, signal?: AbortSignal): Promise<unknown> {
    return this.call('POST', `/v1/uploads/${encodeURIComponent(id)}/parts/${n}`, { etag }, signal);
  }

  complete(id: string, signal?: AbortSignal): Promise<{ media: MediaRef }> {
    return this.call('POST', `/v1/uploads/${encodeURIComponent(id)}/complete`, {}, signal);
  }

  abort(id: string): Promise<UploadView> {
    return this.call('DELETE', `/v1/uploads/${encodeURIComponent(id)}`);
  }

  /**
   * PUTs bytes to a presigned URL with exactly its headers and no
   * Authorization; answers the store's ETag (undefined if the store or CORS
   * hides it). `content-length` is left to fetch, which derives it from the
   * body (browsers refuse to let scripts set it).
   */
  async put(target: PresignedPut, body: PartBody, signal: AbortSignal): Promise<string | undefined> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(target.headers)) {
      if (k.toLowerCase() !== 'content-length') headers[k] = v;
    }
    const res = await this.send(target.url, { method: target.method, headers, body, signal });
    if (!res.ok) throw await errorOf(res, true);
    await res.body?.cancel().catch(() => undefined);
    return res.headers.get('etag') ?? undefined;
  }

  private async call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    for (let fresh = false; ; fresh = true) {
      this.#token = fresh || this.#token === undefined ? await this.getToken() : this.#token;
      const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` };
      const init: RequestInit = { method, headers };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      if (signal) init.signal = signal;
      const res = await this.send(this.baseUrl + path, init);
      if (res.ok) return (await res.json()) as T;
      const err = await errorOf(res, false);
      if (res.status !== 401 || fresh) throw err;
    }
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetch(url, init);
    } catch (cause) {
      if (init.signal?.aborted) throw init.signal.reason ?? cause;
      throw new ShutterError('disconnected', `the request to ${new URL(url).host} failed`, { cause });
    }
  }
}

/**
 * A failed answer as a ShutterError: the server's `{"error": {…}}` when the
 * body has one, else a code from the status (S3's XML errors land here; its
 * 403 on a presigned URL is treated as an expired URL).
 */
export async function errorOf(res: Response, presigned: boolean): Promise<ShutterError> {
  let parsed: unknown;
  const text = await res.text().catch(() => '');
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const e = (parsed as { error?: Record<string, unknown> } | undefined)?.error;
  const header = Number(res.headers.get('retry-after'));
  const options: ShutterErrorOptions = {};
  if (typeof e?.retryAfterMs === 'number') options.retryAfterMs = e.retryAfterMs;
  else if (header > 0) options.retryAfterMs = header * 1000;
  if (e?.details && typeof e.details === 'object') options.details = e.details as Record<string, unknown>;
  if (typeof e?.code === 'string') {
    const code: ErrorCode = isErrorCode(e.code) ? e.code : 'internal_error';
    const message = typeof e.message === 'string' ? e.message : `HTTP ${res.status}`;
    return new ShutterError(code, message, options);
  }
  return new ShutterError(codeOfStatus(res.status, presigned), `HTTP ${res.status} from the server`, {
    ...options,
    details: { ...options.details, status: res.status },
  });
}

function codeOfStatus(status: number, presigned: boolean): ErrorCode {
  if (status === 403 && presigned) return 'url_expired';
  if (status === 401) return 'auth_failed';
  if (status === 403) return 'forbidden';
  if (status === 404) return presigned ? 'url_expired' : 'upload_not_found';
  if (status === 410) return 'upload_expired';
  if (status === 413) return 'payload_too_large';
  if (status === 429) return 'rate_limited';
  if (status === 503 || status === 502) return 'unavailable';
  if (status === 504 || status === 408) return 'timeout';
  if (status >= 500) return 'internal_error';
  return 'bad_request';
}
