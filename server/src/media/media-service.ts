import { randomBytes } from 'node:crypto';
import { ShutterError } from '@shutter/protocol';
import type { BlobStore } from '../blobs/blob-store.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { Logger } from '../log.js';
import type { Sql } from '../sql/index.js';
import type { StreamPublisher } from '../streams/publisher.js';
import { MediaEvents } from './events.js';
import type { MediaIngest } from './ingest.js';
import { type MediaItem, MediaRecords } from './media-records.js';

/** What media processing needs of the object store. */
export type MediaBlobs = Pick<BlobStore, 'get' | 'put' | 'delete'>;

/** The payload of a processing job; everything else is read from the media record. */
export interface MediaJob {
  mediaId: string;
}

export interface MediaServiceDeps {
  sql: Sql;
  blobs: MediaBlobs;
  queue: JobQueue<MediaJob>;
  publisher: StreamPublisher;
  log: Logger;
}

export interface MediaStatusView extends MediaItem {
  /** While processing: the stage and percent the job last reported. */
  progress: { stage: string | null; percent: number; attempts: number } | null;
}

export interface MediaService extends MediaIngest {
  get(mediaId: string): Promise<MediaStatusView | undefined>;
  /** The records of the items among `ids` that exist, in one query, without job progress (hydrating posts). */
  many(mediaIds: readonly string[]): Promise<MediaItem[]>;
  /**
   * An operator's retry of an item whose processing job died (`failed` with
   * `media_processing_failed`): the item goes back to `processing`, its job
   * is re-queued with a fresh budget of attempts, and the owner gets
   * `media.progress` queued. Throws `not_found` for an unknown id,
   * `conflict` for any other state (refusals are final), `unavailable` when
   * the queue cannot take the job (the item is left failed as it was).
   */
  retry(mediaId: string): Promise<MediaStatusView>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const OWNER_ID = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Records uploads as media items and queues their processing. An upload
 * whose SHA-256 (computed by the server while streaming, never taken from
 * the client) matches a ready item of the same owner is ready at once: it
 * shares that item's original and variants, and its own copy of the bytes is
 * deleted. Another user's items are never consulted (docs/media.md, "Dedup").
 */
export function createMediaService(deps: MediaServiceDeps): MediaService {
  const records = new MediaRecords(deps.sql);
  const events = new MediaEvents(deps.publisher, deps.log);

  return {
    async ingest(input) {
      if (!OWNER_ID.test(input.ownerId))
        throw new ShutterError('bad_request', 'ownerId must be 1–128 of [A-Za-z0-9_.-].');
      const sha256 = input.sha256?.toLowerCase();
      if (sha256 !== undefined && !SHA256_HEX.test(sha256))
        throw new ShutterError('bad_request', 'sha256 must be 64 hex digits.');
      const id = `m_${randomBytes(12).toString('base64url')}`;
      const base = {
        id,
        ownerId: input.ownerId,
        originalBytes: input.size,
        declaredType: input.declaredType.slice(0, 255),
      };
      if (sha256) {
        const copy = await records.insertFromReady({ ...base, sha256 });
        if (copy) {
          if (copy.originalKey !== input.objectKey) await deleteQuietly(deps, input.objectKey);
          await events.finished(copy);
          return { mediaId: id, status: 'ready' };
        }
      }
      await records.insertProcessing({ ...base, sha256: sha256 ?? null, originalKey: input.objectKey });
      try {
        await deps.queue.enqueue(id, { mediaId: id });
      } catch (err) {
        await records
          .markFailed(id, 'media_processing_failed', 'The processing job could not be queued.')
          .catch(() => {});
        throw new ShutterError('unavailable', 'The processing queue is unavailable; try again.', {
          cause: err,
        });
      }
      await events.publish(input.ownerId, {
        type: 'media.progress',
        mediaId: id,
        stage: 'queued',
        percent: 0,
      });
      return { mediaId: id, status: 'processing' };
    },

    get: view,

    many: (mediaIds) => records.many(mediaIds),

    async mediaState(mediaId) {
      const item = await records.get(mediaId);
      return item && { status: item.status, originalKey: item.originalKey };
    },

    async retry(mediaId) {
      const item = await records.reopenDead(mediaId);
      if (!item) {
        // A node that died between reopening an item and re-queueing its job
        // left it processing with its job dead: re-queueing finishes that retry
        // (`queue.retry` re-queues only a dead job; a live one answers false).
        const stuck = await records.get(mediaId);
        if (stuck?.status === 'processing' && (await deps.queue.retry(mediaId)))
          return announce(stuck.ownerId, mediaId);
        throw await notRetryable(mediaId);
      }
      const restore = (reason: string | null) =>
        records
          .markFailed(mediaId, 'media_processing_failed', reason ?? 'Processing failed.')
          .catch((err) => deps.log.warn({ err, mediaId }, 'media item left processing after a failed retry'));
      let requeued: boolean;
      try {
        requeued = await requeue(mediaId);
      } catch (err) {
        await restore(item.previousReason);
        throw new ShutterError('unavailable', 'The processing queue is unavailable; try again.', {
          cause: err,
        });
      }
      if (!requeued) {
        await restore(item.previousReason);
        throw new ShutterError(
          'conflict',
          'The processing job of this item has finished and cannot run again; upload the photo again.',
          { details: { status: 'failed', failureCode: 'media_processing_failed' } },
        );
      }
      return announce(item.ownerId, mediaId);
    },
  };

  /** Tells the owner a re-queued item is queued again and answers its status. */
  async function announce(ownerId: string, mediaId: string): Promise<MediaStatusView> {
    await events.publish(ownerId, { type: 'media.progress', mediaId, stage: 'queued', percent: 0 });
    const now = await view(mediaId);
    if (!now) throw new ShutterError('not_found', 'no media item with that id');
    return now;
  }

  async function view(mediaId: string): Promise<MediaStatusView | undefined> {
    const item = await records.get(mediaId);
    if (!item) return undefined;
    if (item.status !== 'processing') return { ...item, progress: null };
    const job = await deps.queue.get(mediaId);
    return {
      ...item,
      progress: job ? { stage: job.stage, percent: job.percent, attempts: job.attempts } : null,
    };
  }

  /**
   * Re-queues the job of a reopened item. False when it cannot run again
   * (its job is done: the item failed while the job skipped it).
   */
  async function requeue(mediaId: string): Promise<boolean> {
    if (await deps.queue.retry(mediaId)) return true;
    // No dead job: none was ever queued (ingest could not), the queue forgot it
    // (JetStream keeps states for a while), or it is queued already. Enqueue
    // queues a new job, republishes a queued one, and leaves any other alone.
    await deps.queue.enqueue(mediaId, { mediaId });
    const status = (await deps.queue.get(mediaId))?.status;
    return status !== 'done' && status !== 'dead';
  }

  async function notRetryable(mediaId: string): Promise<ShutterError> {
    const item = await records.get(mediaId);
    if (!item) return new ShutterError('not_found', 'no media item with that id');
    const details = { status: item.status, failureCode: item.failureCode };
    if (item.status === 'failed')
      return new ShutterError(
        'conflict',
        `The item was refused (${item.failureCode}); refusals are final: only an item whose processing job died (media_processing_failed) can be retried.`,
        { details },
      );
    return new ShutterError('conflict', `The item is ${item.status}; only a failed item can be retried.`, {
      details,
    });
  }
}

export async function deleteQuietly(deps: { blobs: MediaBlobs; log: Logger }, key: string): Promise<void> {
  try {
    await deps.blobs.delete(key);
  } catch (err) {
    deps.log.warn({ err, key }, "an upload's copy of an original not deleted");
  }
}
