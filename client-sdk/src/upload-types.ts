import type { ShutterError } from '@shutter/protocol/wire';
import type { BackoffOptions } from './backoff.js';
import type { FetchLike } from './upload-http.js';

/** A photo to upload: a `Blob`/`File` (browsers, React Native) or bytes (Node `Buffer`, `Uint8Array`, `ArrayBuffer`). */
export type UploadData = Blob | Uint8Array | ArrayBuffer;

export interface UploaderOptions {
  /**
   * HTTP origin of the API, e.g. `https://api.example.com`. Give this or
   * `url` (the client's WebSocket URL, from which it is derived).
   */
  baseUrl?: string;
  /** The WebSocket URL (`wss://host/ws` → `https://host`). */
  url?: string;
  /** Returns a bearer token; called once and again after a 401. Cache it yourself if it is costly. */
  getToken: () => Promise<string>;
  /** Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Parts in flight at once; default 3. */
  partConcurrency?: number;
  /** Attempts per part (and per API call) before the upload fails; default 5. */
  maxAttempts?: number;
  /** Full-jitter backoff between attempts; default min 500, max 10 000 ms, factor 2. */
  backoff?: Partial<BackoffOptions>;
  /** Source of randomness for jitter, [0, 1); for tests. */
  random?: () => number;
}

export interface UploadOptions {
  /** Declared type, one the server accepts (`image/jpeg`, `image/png`, …). */
  contentType: string;
  /** Default: the server picks single up to `MEDIA_SINGLE_PUT_MAX_BYTES`, multipart above. */
  mode?: 'single' | 'multipart';
  onProgress?: (progress: UploadProgress) => void;
  /** Aborting it cancels the upload (as `cancel()`). */
  signal?: AbortSignal;
  /** Overrides the uploader's `partConcurrency` for this upload. */
  partConcurrency?: number;
}

export type UploadState =
  | 'starting' // creating the upload or asking the server what it has
  | 'uploading'
  | 'paused'
  | 'completing'
  | 'done'
  | 'failed'
  | 'cancelled';

/** Bytes of parts the server has recorded. fetch cannot observe bytes within a part, so it moves a part at a time. */
export interface UploadProgress {
  bytesSent: number;
  totalBytes: number;
  partsDone: number;
  partCount: number;
}

export interface UploadResult {
  uploadId: string;
  mediaId: string;
  /**
   * `processing` (the ready/failed event follows on `user:<id>:media`), or
   * `ready` / `failed` when processing has ended: the same user uploaded
   * these bytes before, or (`resumeUpload` of a completed upload) it ended
   * while the app was away and its event may be gone.
   */
  status: string;
}

export interface UploadEvents {
  state: UploadState;
  progress: UploadProgress;
  /** The server created the upload: keep `uploadId` to `resumeUpload` after an app restart. */
  created: { uploadId: string; mode: 'single' | 'multipart' };
  /** A part (0 for an API call) failed and is tried again after `delayMs`. */
  retry: { partNumber: number; attempt: number; delayMs: number; error: ShutterError };
}

/** `done` rejects with this after `cancel()` or an aborted `signal`. */
export class UploadCancelledError extends Error {
  constructor(message = 'the upload was cancelled') {
    super(message);
    this.name = 'UploadCancelledError';
  }
}
