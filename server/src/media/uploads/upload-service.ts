import { ShutterError } from '@shutter/protocol';
import type { BlobStore, PresignedRequest } from '../../blobs/blob-store.js';
import { assertPartNumber } from '../../blobs/keys.js';
import { ByteMeter } from '../../blobs/meter.js';
import type { Logger } from '../../log.js';
import type { MediaIngest } from '../ingest.js';
import { completeUpload, type IngestResult } from './complete.js';
import { partLength, planParts, type UploadLimits } from './upload-limits.js';
import type { UploadPart, UploadRecord, UploadRepo } from './upload-repo.js';
import { checkSize, checkType, closedError, newRecord, type UploadView, view } from './upload-rules.js';

export interface UploadServiceDeps {
  store: BlobStore;
  repo: UploadRepo;
  ingest: MediaIngest;
  log: Logger;
  limits: UploadLimits;
  now?: () => number;
}

const ETAG = /^"?[A-Za-z0-9-]{1,128}"?$/;

/**
 * The upload paths: presigned single PUT, multipart with the server's own
 * record of completed parts (so a client resumes by asking which it has),
 * and a streaming PUT through the node. Every upload has a record, counted
 * against its owner's quotas from creation until it completes or is aborted.
 */
export class UploadService {
  readonly now: () => number;

  constructor(private readonly d: UploadServiceDeps) {
    this.now = d.now ?? Date.now;
  }

  async create(
    ownerId: string,
    input: { size: number; contentType: string; mode?: 'single' | 'multipart' },
  ): Promise<{ upload: UploadView; put?: PresignedRequest }> {
    const { limits, store } = this.d;
    checkType(this.d.limits, input.contentType);
    checkSize(this.d.limits, input.size);
    const mode = input.mode ?? (input.size <= limits.singlePutMaxBytes ? 'single' : 'multipart');
    if (mode === 'single' && input.size > limits.singlePutMaxBytes) {
      throw new ShutterError(
        'payload_too_large',
        `a single PUT takes at most ${limits.singlePutMaxBytes} bytes; use "mode": "multipart"`,
        { details: { maxBytes: limits.singlePutMaxBytes } },
      );
    }
    const rec = newRecord(this.d.limits, this.now(), {
      ownerId,
      mode,
      contentType: input.contentType,
      size: input.size,
    });
    if (mode === 'multipart') {
      Object.assign(rec, planParts(input.size, limits.partBytes));
      // Quota first, so a refused create leaves nothing in the store.
      await this.d.repo.create(rec, quotaOf(limits));
      try {
        rec.storeUploadId = await store.createMultipart(rec.objectKey, {
          contentType: rec.contentType,
          size: rec.size,
        });
      } catch (e) {
        await this.d.repo.transition(rec.id, ['pending'], 'failed', new Date(this.now()), {
          failure: 'store_create_failed',
        });
        throw e;
      }
      await this.d.repo.setStoreUploadId(rec.id, rec.storeUploadId);
      return { upload: view(rec) };
    }
    await this.d.repo.create(rec, quotaOf(limits));
    return { upload: view(rec), put: await this.presignWhole(rec) };
  }

  async status(ownerId: string, id: string): Promise<UploadView> {
    const rec = await this.withMediaStatus(await this.own(ownerId, id));
    if (rec.mode === 'multipart') return view(rec, await this.d.repo.parts(id));
    const v = view(rec);
    if (rec.mode === 'single' && rec.status === 'pending') {
      const received = await this.received(rec);
      if (received !== undefined) v.received = received;
    }
    return v;
  }

  /** Presigned URLs for parts (multipart) or for the whole object (single: part 1). */
  async partUrls(
    ownerId: string,
    id: string,
    partNumbers: readonly number[],
  ): Promise<(PresignedRequest & { partNumber: number })[]> {
    const rec = this.open(await this.own(ownerId, id));
    if (rec.mode === 'stream') throw new ShutterError('bad_request', 'a streamed upload has no part URLs');
    if (partNumbers.length === 0 || partNumbers.length > 1000)
      throw new ShutterError('bad_request', 'ask for 1 to 1000 part numbers');
    const out = [];
    for (const n of partNumbers) {
      this.checkPart(rec, n);
      if (rec.mode === 'single') out.push({ partNumber: n, ...(await this.presignWhole(rec)) });
      else {
        const contentLength = partLength(n, rec.size, rec.partSize, rec.partCount);
        const req = await this.d.store.presignPart(rec.objectKey, rec.storeUploadId ?? '', n, {
          expiresInSeconds: this.urlSeconds(rec),
          contentLength,
        });
        out.push({ partNumber: n, ...req });
      }
    }
    return out;
  }

  /** Stores one part sent through this node and records it. */
  async putPart(
    ownerId: string,
    id: string,
    n: number,
    body: AsyncIterable<Uint8Array>,
    contentLength: number | undefined,
  ): Promise<UploadPart> {
    const rec = this.open(await this.own(ownerId, id));
    if (rec.mode !== 'multipart')
      throw new ShutterError('bad_request', 'only multipart uploads take parts; use the presigned URL');
    this.checkPart(rec, n);
    const size = partLength(n, rec.size, rec.partSize, rec.partCount);
    if (contentLength !== undefined && contentLength !== size) {
      throw new ShutterError(
        'size_mismatch',
        `part ${n} must be ${size} bytes (got Content-Length ${contentLength})`,
        { details: { expected: size, received: contentLength } },
      );
    }
    const { etag } = await this.d.store.uploadPart(rec.objectKey, rec.storeUploadId ?? '', n, body, size);
    return this.record(rec, { partNumber: n, etag, size });
  }

  /** Records a part the client PUT to a presigned URL, with the ETag the store answered. */
  async reportPart(ownerId: string, id: string, n: number, etag: string): Promise<UploadPart> {
    const rec = this.open(await this.own(ownerId, id));
    if (rec.mode !== 'multipart') throw new ShutterError('bad_request', 'only multipart uploads take parts');
    this.checkPart(rec, n);
    if (!ETAG.test(etag))
      throw new ShutterError('bad_request', 'etag must be the ETag header the store answered');
    return this.record(rec, {
      partNumber: n,
      etag: etag.replace(/"/g, ''),
      size: partLength(n, rec.size, rec.partSize, rec.partCount),
    });
  }

  async complete(ownerId: string, id: string): Promise<{ upload: UploadView; media: IngestResult }> {
    const rec = await this.own(ownerId, id);
    const media = await completeUpload(this.d, this.now, rec);
    const done = (await this.d.repo.get(id)) ?? rec;
    return { upload: view({ ...done, mediaStatus: media.status }), media };
  }

  /** Aborts an open upload and deletes what was stored; idempotent. */
  async abort(ownerId: string, id: string): Promise<UploadView> {
    const rec = await this.own(ownerId, id);
    if (rec.status === 'aborted' || rec.status === 'expired') return view(rec);
    if (rec.status === 'completed') throw new ShutterError('conflict', 'the upload is already completed');
    if (rec.status === 'completing')
      throw new ShutterError('conflict', 'the upload is being completed; try again shortly', {
        retryAfterMs: 1000,
      });
    const next = await this.d.repo.transition(
      id,
      ['pending', 'stored', 'failed'],
      'aborted',
      new Date(this.now()),
      { cleanupPending: true },
    );
    if (!next) return this.abort(ownerId, id);
    await this.cleanup(next);
    return view((await this.d.repo.get(id)) ?? next);
  }

  /**
   * Streams a body into the store through this node: memory stays flat
   * whatever its size, and its SHA-256 is computed on the way. With a
   * Content-Length the size is checked (and counted against quotas) before
   * reading; without one the upload may use up to `maxUploadBytes`.
   */
  async stream(
    ownerId: string,
    contentType: string,
    contentLength: number | undefined,
    body: AsyncIterable<Uint8Array>,
  ): Promise<{ upload: UploadView; media: IngestResult; sha256: string }> {
    const { limits, store, repo } = this.d;
    checkType(this.d.limits, contentType);
    if (contentLength !== undefined) checkSize(this.d.limits, contentLength);
    const rec = newRecord(limits, this.now(), {
      ownerId,
      mode: 'stream',
      contentType,
      size: contentLength ?? limits.maxUploadBytes,
    });
    await repo.create(rec, quotaOf(limits));
    const meter = new ByteMeter(
      ['sha256'],
      contentLength !== undefined ? { exact: contentLength } : { max: limits.maxUploadBytes },
    );
    try {
      await store.put(rec.objectKey, meter.pipe(body), {
        contentType,
        ...(contentLength !== undefined ? { size: contentLength } : {}),
      });
    } catch (e) {
      await repo.transition(rec.id, ['pending'], 'failed', new Date(this.now()), {
        failure: errorCode(e),
        cleanupPending: true,
      });
      await this.cleanup({ ...rec, status: 'failed' });
      throw e;
    }
    const sha256 = meter.digest('sha256');
    const stored = await repo.transition(rec.id, ['pending'], 'stored', new Date(this.now()), {
      size: meter.bytes,
      sha256,
    });
    if (!stored) throw new ShutterError('upload_expired', 'the upload was aborted while it streamed');
    const media = await completeUpload(this.d, this.now, stored);
    return { upload: view((await repo.get(rec.id)) ?? stored), media, sha256 };
  }

  /** Deletes what the store holds of a finished-unsuccessfully upload; the sweeper retries failures. */
  async cleanup(rec: UploadRecord): Promise<void> {
    let done = true;
    if (rec.mode === 'multipart' && rec.storeUploadId) {
      await this.d.store.abortMultipart(rec.objectKey, rec.storeUploadId).catch((err: unknown) => {
        done = false;
        this.d.log.warn(
          { err, uploadId: rec.id },
          'aborting the multipart upload in the store failed; will retry',
        );
      });
    }
    await this.d.store.delete(rec.objectKey).catch((err: unknown) => {
      done = false;
      this.d.log.warn({ err, uploadId: rec.id }, 'deleting the upload object failed; will retry');
    });
    await this.d.repo.cleanupAttempted(rec.id, done);
  }

  /**
   * What the store holds of a single-PUT upload: its size, `null` when
   * nothing arrived, `undefined` when the store could not be asked (the
   * status then says nothing, and a client sends the file again).
   */
  private async received(rec: UploadRecord): Promise<{ size: number } | null | undefined> {
    try {
      const info = await this.d.store.head(rec.objectKey);
      return info ? { size: info.size } : null;
    } catch (err) {
      this.d.log.warn({ err, uploadId: rec.id }, 'asking the store for the uploaded object failed');
      return undefined;
    }
  }

  /**
   * The record with its media's current status: the one stored at completion
   * says `processing` long after the media is ready or failed.
   */
  private async withMediaStatus(rec: UploadRecord): Promise<UploadRecord> {
    if (!rec.mediaId) return rec;
    const current = await this.d.ingest.mediaState(rec.mediaId);
    return current ? { ...rec, mediaStatus: current.status } : rec;
  }

  /**
   * A completed single PUT whose URLs have all expired: deletes its key again
   * (bytes PUT to the URL after completion land there) unless the media
   * still reads it (processing: asked again later; failed: the key is the
   * media's original, kept for an operator's retry).
   */
  async recheck(rec: UploadRecord, retryAfterMs: number): Promise<'deleted' | 'kept' | 'later'> {
    const state = rec.mediaId ? await this.d.ingest.mediaState(rec.mediaId) : undefined;
    if (state?.originalKey === rec.objectKey && state.status === 'processing') {
      await this.d.repo.setRecheck(rec.id, new Date(this.now() + retryAfterMs));
      return 'later';
    }
    if (state?.originalKey === rec.objectKey) {
      await this.d.repo.setRecheck(rec.id, null);
      return 'kept';
    }
    try {
      await this.d.store.delete(rec.objectKey);
    } catch (err) {
      this.d.log.warn({ err, uploadId: rec.id }, 'deleting a completed upload key failed; will retry');
      await this.d.repo.setRecheck(rec.id, new Date(this.now() + retryAfterMs));
      return 'later';
    }
    await this.d.repo.setRecheck(rec.id, null);
    return 'deleted';
  }

  private async record(rec: UploadRecord, part: UploadPart): Promise<UploadPart> {
    if (!(await this.d.repo.recordPart(rec.id, part, new Date(this.now())))) {
      throw closedError((await this.d.repo.get(rec.id)) ?? rec);
    }
    return part;
  }

  private async own(ownerId: string, id: string): Promise<UploadRecord> {
    const rec = /^up_[0-9a-f]{24}$/.test(id) ? await this.d.repo.get(id) : undefined;
    if (!rec || rec.ownerId !== ownerId)
      throw new ShutterError('upload_not_found', `no upload ${id.slice(0, 40)}`);
    return rec;
  }

  /** The record if it still takes parts; otherwise the error saying why not. */
  private open(rec: UploadRecord): UploadRecord {
    if (rec.status === 'pending' && rec.expiresAt.getTime() > this.now()) return rec;
    throw closedError(rec);
  }

  private checkPart(rec: UploadRecord, n: number): void {
    assertPartNumber(n);
    const count = rec.mode === 'multipart' ? rec.partCount : 1;
    if (n > count)
      throw new ShutterError('bad_request', `this upload has ${count} part(s); there is no part ${n}`);
  }

  private presignWhole(rec: UploadRecord): Promise<PresignedRequest> {
    return this.d.store.presignPut(rec.objectKey, {
      contentType: rec.contentType,
      contentLength: rec.size,
      expiresInSeconds: this.urlSeconds(rec),
    });
  }

  /** URLs never outlive their upload. */
  private urlSeconds(rec: UploadRecord): number {
    const left = Math.floor((rec.expiresAt.getTime() - this.now()) / 1000);
    return Math.max(1, Math.min(this.d.limits.presignExpirySeconds, left));
  }
}

function quotaOf(l: UploadLimits) {
  return {
    inFlightBytes: l.quotaInFlightBytes,
    inFlightUploads: l.quotaInFlightUploads,
    dailyBytes: l.quotaDailyBytes,
  };
}

function errorCode(e: unknown): string {
  return e instanceof ShutterError ? e.code : 'store_error';
}
