import { ShutterError } from '@shutter/protocol/wire';
import { type BackoffOptions, fullJitterDelay } from './backoff.js';
import { isTransient, type PartBody, type PresignedPut, type UploadApi } from './upload-http.js';
import type { UploadData, UploadEvents } from './upload-types.js';

/** The photo as something that slices into fetch bodies without copying. */
export interface Source {
  size: number;
  slice(start: number, end: number): PartBody;
}

export function toSource(data: UploadData): Source {
  if (typeof Blob !== 'undefined' && data instanceof Blob) {
    return { size: data.size, slice: (start, end) => data.slice(start, end) };
  }
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array);
  // fetch takes views of a plain ArrayBuffer only; a view of a SharedArrayBuffer is copied once.
  const plain: Uint8Array<ArrayBuffer> =
    bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
  return { size: plain.byteLength, slice: (start, end) => plain.subarray(start, end) };
}

export interface RetryPolicy {
  maxAttempts: number;
  backoff: BackoffOptions;
  random: () => number;
  onRetry: (event: UploadEvents['retry']) => void;
}

/**
 * Runs `fn` until it resolves; transient failures (see `isTransient`) are
 * tried again after a full-jitter delay (at least the server's
 * `retryAfterMs`), at most `maxAttempts` times in all. Aborting `signal`
 * ends the wait at once with the signal's reason.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  partNumber: number,
  signal: AbortSignal,
  fn: (attempt: number, previous: unknown) => Promise<T>,
): Promise<T> {
  let previous: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt, previous);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (!(err instanceof ShutterError) || !isTransient(err) || attempt + 1 >= policy.maxAttempts) throw err;
      const delayMs = Math.max(
        fullJitterDelay(attempt, policy.backoff, policy.random),
        err.retryAfterMs ?? 0,
      );
      policy.onRetry({ partNumber, attempt: attempt + 1, delayMs, error: err });
      previous = err;
      await sleep(delayMs, signal);
    }
  }
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface PartJob {
  api: UploadApi;
  uploadId: string;
  source: Source;
  partSize: number;
  partCount: number;
  concurrency: number;
  policy: RetryPolicy;
  onPartDone: (partNumber: number, bytes: number) => void;
}

/** URLs are asked for again when they expire within this margin. */
const URL_MARGIN_MS = 60_000;
/** The API hands out at most this many part URLs per request. */
const URL_BATCH = 1000;

/**
 * Sends `parts` (1-based) with `concurrency` in flight: fresh presigned URLs
 * in batches, PUT each part, report its ETag. Each part is retried on its
 * own; the first part that fails for good stops the others and is thrown.
 */
export async function sendParts(job: PartJob, parts: readonly number[], signal: AbortSignal): Promise<void> {
  const queue = [...parts];
  const urls = new Map<number, PresignedPut>();
  const inner = new AbortController();
  const stop = () => inner.abort(signal.reason);
  signal.addEventListener('abort', stop, { once: true });

  // One batch request at a time serves every worker that starts meanwhile.
  let batchInFlight: Promise<unknown> | undefined;
  const usable = (n: number) => {
    const u = urls.get(n);
    return u && u.expiresAt - Date.now() > URL_MARGIN_MS ? u : undefined;
  };
  const urlFor = async (n: number, fresh: boolean): Promise<PresignedPut> => {
    if (!fresh && batchInFlight) await batchInFlight.catch(() => undefined);
    const cached = fresh ? undefined : usable(n);
    if (cached) return cached;
    const batch = fresh ? [n] : [n, ...queue.filter((q) => !usable(q))].slice(0, URL_BATCH);
    const asked = job.api.partUrls(job.uploadId, batch, inner.signal);
    if (!fresh) batchInFlight = asked;
    for (const u of await asked) urls.set(u.partNumber, u);
    const got = urls.get(n);
    if (!got) throw new ShutterError('internal_error', `the server gave no URL for part ${n}`);
    return got;
  };

  const sendOne = (n: number) =>
    withRetry(job.policy, n, inner.signal, async (_attempt, previous) => {
      const start = (n - 1) * job.partSize;
      const end = n === job.partCount ? job.source.size : start + job.partSize;
      const stale = previous instanceof ShutterError && previous.code === 'url_expired';
      const etag = await job.api.put(await urlFor(n, stale), job.source.slice(start, end), inner.signal);
      if (!etag) {
        throw new ShutterError(
          'forbidden',
          'the store answered without an ETag header (a bucket CORS rule must expose ETag)',
        );
      }
      await job.api.reportPart(job.uploadId, n, etag, inner.signal);
      job.onPartDone(n, end - start);
    });

  let failure: { error: unknown } | undefined;
  const worker = async () => {
    for (let n = queue.shift(); n !== undefined && !inner.signal.aborted; n = queue.shift()) {
      await sendOne(n);
    }
  };
  try {
    const workers = Array.from({ length: Math.max(1, Math.min(job.concurrency, queue.length)) }, worker);
    await Promise.all(
      workers.map((w) =>
        w.catch((error: unknown) => {
          if (!failure && !signal.aborted) {
            failure = { error };
            inner.abort(error);
          }
        }),
      ),
    );
  } finally {
    signal.removeEventListener('abort', stop);
  }
  if (signal.aborted) throw signal.reason;
  if (failure) throw failure.error;
}
