import { type BackoffOptions, checkBackoffOptions } from './backoff.js';
import { Upload } from './upload.js';
import { type FetchLike, UploadApi } from './upload-http.js';
import { toSource } from './upload-parts.js';
import type { UploadData, UploaderOptions, UploadOptions } from './upload-types.js';

export const UPLOAD_DEFAULTS = {
  partConcurrency: 3,
  maxAttempts: 5,
  backoff: { minMs: 500, maxMs: 10_000, factor: 2 } satisfies BackoffOptions,
} as const;

/** Uploads photos through the HTTP upload API (docs/media.md); see docs/sdk.md, "Uploads". */
export interface Uploader {
  /** Starts an upload at once: single presigned PUT or multipart, as the server picks (or `options.mode`). */
  upload(data: UploadData, options: UploadOptions): Upload;
  /**
   * Continues an upload created earlier (after a lost connection or an app
   * restart) with the same bytes: asks the server which parts it has and
   * sends only the missing ones.
   */
  resumeUpload(uploadId: string, data: UploadData, options: UploadOptions): Upload;
}

/** `wss://host/ws` → `https://host` (and ws → http), for apps that configure only the socket URL. */
export function httpBaseUrl(wsUrl: string): string {
  const u = new URL(wsUrl);
  if (u.protocol === 'ws:') u.protocol = 'http:';
  else if (u.protocol === 'wss:') u.protocol = 'https:';
  u.pathname = u.pathname.replace(/\/ws\/?$/, '');
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/$/, '');
}

export function createUploader(options: UploaderOptions): Uploader {
  const baseUrl = resolveBase(options);
  const fetchFn: FetchLike | undefined =
    options.fetch ?? (typeof fetch === 'function' ? (url, init) => fetch(url, init) : undefined);
  if (!fetchFn) throw new TypeError('no global fetch on this platform: pass the fetch option');
  const partConcurrency = count('partConcurrency', options.partConcurrency, UPLOAD_DEFAULTS.partConcurrency);
  const maxAttempts = count('maxAttempts', options.maxAttempts, UPLOAD_DEFAULTS.maxAttempts);
  const backoff = checkBackoffOptions({ ...UPLOAD_DEFAULTS.backoff, ...options.backoff });
  const api = new UploadApi(baseUrl, options.getToken, fetchFn);
  const policy = { maxAttempts, backoff, random: options.random ?? Math.random };

  const start = (data: UploadData, o: UploadOptions, uploadId?: string): Upload => {
    if (typeof o.contentType !== 'string' || o.contentType.length === 0)
      throw new TypeError('contentType is required, e.g. "image/jpeg"');
    const upload = new Upload({
      api,
      source: toSource(data),
      contentType: o.contentType,
      mode: o.mode,
      concurrency: count('partConcurrency', o.partConcurrency, partConcurrency),
      policy,
      ...(uploadId === undefined ? {} : { uploadId }),
    });
    if (o.onProgress) upload.on('progress', o.onProgress);
    const signal = o.signal;
    if (signal) {
      const onAbort = () => void upload.cancel().catch(() => undefined);
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        const off = () => signal.removeEventListener('abort', onAbort);
        upload.done.then(off, off);
      }
    }
    return upload;
  };

  return {
    upload: (data, o) => start(data, o),
    resumeUpload: (uploadId, data, o) => {
      if (!uploadId) throw new TypeError('uploadId is required');
      return start(data, o, uploadId);
    },
  };
}

function resolveBase(o: UploaderOptions): string {
  if (o.baseUrl !== undefined) {
    const u = new URL(o.baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new TypeError('baseUrl must start with http:// or https://');
    return o.baseUrl.replace(/\/$/, '');
  }
  if (o.url !== undefined) return httpBaseUrl(o.url);
  throw new TypeError('give baseUrl (https://…) or url (the WebSocket URL)');
}

function count(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`${name} must be an integer ≥ 1`);
  return v;
}
