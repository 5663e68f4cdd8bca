import { ShutterError } from '@shutter/protocol/wire';
import { Emitter, type Listener } from './emitter.js';
import type { MediaRef, PresignedPut, UploadApi, UploadView } from './upload-http.js';
import { type RetryPolicy, type Source, sendParts, withRetry } from './upload-parts.js';
import {
  UploadCancelledError,
  type UploadEvents,
  type UploadProgress,
  type UploadResult,
  type UploadState,
} from './upload-types.js';

export interface UploadSetup {
  api: UploadApi;
  source: Source;
  contentType: string;
  mode: 'single' | 'multipart' | undefined;
  concurrency: number;
  policy: Omit<RetryPolicy, 'onRetry'>;
  /** Set by `resumeUpload`: ask the server what it has instead of creating. */
  uploadId?: string;
}

/** Aborts in-flight requests when the app pauses; never escapes the Upload. */
const PAUSED = Symbol('paused');

/**
 * One upload, as a small state machine: starting → uploading → completing →
 * done, with paused in between and failed/cancelled as the other ends. Each
 * start or resume is a "run" with its own AbortController; a run asks the
 * server what it already has, so resuming after a pause, a lost connection
 * or an app restart is the same code path.
 */
export class Upload {
  /** Resolves with the media once the upload is completed; rejects with a `ShutterError` or `UploadCancelledError`. */
  readonly done: Promise<UploadResult>;
  readonly #s: UploadSetup;
  readonly #emitter = new Emitter<UploadEvents>();
  readonly #policy: RetryPolicy;
  #resolve!: (result: UploadResult) => void;
  #reject!: (err: Error) => void;
  #state: UploadState = 'starting';
  #uploadId: string | undefined;
  #error: Error | undefined;
  #progress: UploadProgress;
  #run: AbortController | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(setup: UploadSetup) {
    this.#s = setup;
    this.#uploadId = setup.uploadId;
    this.#policy = { ...setup.policy, onRetry: (e) => this.#emitter.emit('retry', e) };
    this.#progress = { bytesSent: 0, totalBytes: setup.source.size, partsDone: 0, partCount: 0 };
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Apps that follow events only must not crash on an unhandled rejection.
    this.done.catch(() => undefined);
    this.#start();
  }

  get state(): UploadState {
    return this.#state;
  }

  /** Known once the server created the upload (see the `created` event). */
  get uploadId(): string | undefined {
    return this.#uploadId;
  }

  get progress(): UploadProgress {
    return { ...this.#progress };
  }

  /** Why the upload failed, once `state` is `failed`. */
  get error(): Error | undefined {
    return this.#error;
  }

  on<K extends keyof UploadEvents>(event: K, listener: Listener<UploadEvents[K]>): () => void {
    return this.#emitter.on(event, listener);
  }

  /** Starts no new part and aborts those in flight; the server keeps the parts it recorded. */
  pause(): void {
    if (this.#state !== 'starting' && this.#state !== 'uploading' && this.#state !== 'completing') return;
    this.#setState('paused');
    this.#run?.abort(PAUSED);
  }

  /** Asks the server which parts it has and sends the rest. */
  resume(): void {
    if (this.#state !== 'paused') return;
    this.#start();
  }

  /** Stops, deletes the upload on the server (`DELETE /v1/uploads/:id`) and rejects `done`. */
  async cancel(): Promise<void> {
    if (this.#state === 'done' || this.#state === 'failed' || this.#state === 'cancelled') return;
    this.#setState('cancelled');
    this.#run?.abort(new UploadCancelledError());
    this.#error = new UploadCancelledError();
    this.#reject(this.#error);
    // A create in flight is let finish, so what it created is deleted too.
    await this.#running;
    if (this.#uploadId !== undefined) await this.#s.api.abort(this.#uploadId);
  }

  #start(): void {
    const run = new AbortController();
    this.#run = run;
    this.#setState('starting');
    const previous = this.#running;
    this.#running = previous.then(() => this.#go(run.signal));
  }

  async #go(signal: AbortSignal): Promise<void> {
    try {
      const media = await this.#attempt(signal);
      // Completed just as pause() was called: done all the same.
      if (this.#state === 'cancelled') return;
      this.#setState('done');
      this.#resolve({ uploadId: this.#uploadId ?? '', mediaId: media.mediaId, status: media.status });
    } catch (err) {
      if (signal.aborted) return; // paused or cancelled: not a failure
      this.#error = err instanceof Error ? err : new Error(String(err));
      this.#setState('failed');
      this.#reject(this.#error);
    }
  }

  async #attempt(signal: AbortSignal): Promise<MediaRef> {
    const { api, source } = this.#s;
    let view: UploadView;
    let put: PresignedPut | undefined;
    const id = this.#uploadId;
    if (id === undefined) {
      // Neither aborted by pause nor retried after a network failure: a create
      // that landed unseen would hold quota until the sweeper. cancel() waits
      // for this run and deletes what it created.
      const created = await api.create(source.size, this.#s.contentType, this.#s.mode);
      view = created.upload;
      put = created.put;
      this.#uploadId = view.uploadId;
      const mode = view.mode === 'single' ? 'single' : 'multipart';
      this.#emitter.emit('created', { uploadId: view.uploadId, mode });
      signal.throwIfAborted();
    } else {
      view = await withRetry(this.#policy, 0, signal, () => api.status(id, signal));
    }
    if (view.size !== source.size) {
      throw new ShutterError('size_mismatch', `the upload is ${view.size} bytes, the data ${source.size}`, {
        details: { expected: view.size, received: source.size },
      });
    }
    switch (view.status) {
      case 'pending':
        this.#setState('uploading');
        await (view.mode === 'multipart' ? this.#multipart(view, signal) : this.#single(view, put, signal));
        break;
      case 'completing':
      case 'stored':
      case 'completed':
        this.#setProgress(source.size, view.partCount ?? 1, view.partCount ?? 1);
        break;
      default:
        throw new ShutterError('upload_expired', `the upload is ${view.status}; start a new one`);
    }
    this.#setState('completing');
    return this.#complete(view, signal);
  }

  async #single(view: UploadView, first: PresignedPut | undefined, signal: AbortSignal): Promise<void> {
    const { api, source } = this.#s;
    // A PUT whose answer was lost (or a run paused just after it) may have
    // landed: when the store holds the whole size, only complete is left
    // (complete still checks the size). A short or absent object is sent again.
    if (view.received?.size === source.size) {
      this.#setProgress(source.size, 1, 1);
      return;
    }
    this.#setProgress(0, 0, 1);
    await withRetry(this.#policy, 1, signal, async (attempt) => {
      const target = attempt === 0 && first ? first : (await api.partUrls(view.uploadId, [1], signal))[0];
      if (!target) throw new ShutterError('internal_error', 'the server gave no upload URL');
      await api.put(target, source.slice(0, source.size), signal);
    });
    this.#setProgress(source.size, 1, 1);
  }

  async #multipart(view: UploadView, signal: AbortSignal, only?: number[]): Promise<void> {
    const partSize = view.partSize ?? 0;
    const partCount = view.partCount ?? 0;
    const have = new Set((view.parts ?? []).map((p) => p.partNumber));
    const missing = only ?? view.missing ?? range(partCount).filter((n) => !have.has(n));
    if (only === undefined) {
      const sent = (view.parts ?? []).reduce((sum, p) => sum + p.size, 0);
      this.#setProgress(sent, have.size, partCount);
    }
    await sendParts(
      {
        api: this.#s.api,
        uploadId: view.uploadId,
        source: this.#s.source,
        partSize,
        partCount,
        concurrency: this.#s.concurrency,
        policy: this.#policy,
        onPartDone: (_n, bytes) =>
          this.#setProgress(this.#progress.bytesSent + bytes, this.#progress.partsDone + 1, partCount),
      },
      missing,
      signal,
    );
  }

  /** Completes; parts the server reports missing (`part_missing`) are sent once more first. */
  async #complete(view: UploadView, signal: AbortSignal): Promise<MediaRef> {
    const { api } = this.#s;
    for (let round = 0; ; round++) {
      try {
        const out = await withRetry(this.#policy, 0, signal, () => api.complete(view.uploadId, signal));
        return out.media;
      } catch (err) {
        const missing =
          err instanceof ShutterError && err.code === 'part_missing' ? err.details?.missing : [];
        if (round > 0 || !Array.isArray(missing) || missing.length === 0) throw err;
        this.#setState('uploading');
        if (view.mode === 'single') {
          // The object went away after the status said it was there: PUT it again.
          await this.#single({ ...view, received: null }, undefined, signal);
        } else {
          await this.#multipart(
            view,
            signal,
            missing.filter((n): n is number => typeof n === 'number'),
          );
        }
        this.#setState('completing');
      }
    }
  }

  #setProgress(bytesSent: number, partsDone: number, partCount: number): void {
    this.#progress = { bytesSent, totalBytes: this.#s.source.size, partsDone, partCount };
    this.#emitter.emit('progress', this.progress);
  }

  #setState(state: UploadState): void {
    if (this.#state === state) return;
    // Terminal states are never left; paused only by resume() or cancel(), so
    // a run winding down after pause() cannot flip it back.
    if (this.#state === 'cancelled' || this.#state === 'failed' || this.#state === 'done') return;
    if (this.#state === 'paused' && state !== 'starting' && state !== 'cancelled' && state !== 'done') return;
    this.#state = state;
    this.#emitter.emit('state', state);
  }
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i + 1);
}
