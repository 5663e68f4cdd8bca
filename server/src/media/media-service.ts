import { randomBytes } from 'node:crypto';
import { ShutterError } from '@shutter/protocol';
import type { Logger } from '../log.js';
import type { Sql } from '../sql/index.js';
import type { StreamPublisher } from '../streams/publisher.js';
import { MediaEvents } from './events.js';
import type { MediaIngest } from './ingest.js';
import type { JobQueue } from './jobs/job-queue.js';
import { type MediaItem, MediaRecords } from './media-records.js';
import type { BlobStore } from './store/blob-store.js';

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
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const OWNER_ID = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Records uploads as media items and queues their processing. An upload
 * whose SHA-256 (computed by the server while streaming, never taken from
 * the client) matches a ready item is ready at once: it shares that item's
 * original and variants, and its own copy of the bytes is deleted.
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

    async get(mediaId) {
      const item = await records.get(mediaId);
      if (!item) return undefined;
      if (item.status !== 'processing') return { ...item, progress: null };
      const job = await deps.queue.get(mediaId);
      return {
        ...item,
        progress: job ? { stage: job.stage, percent: job.percent, attempts: job.attempts } : null,
      };
    },
  };
}

export async function deleteQuietly(deps: { blobs: MediaBlobs; log: Logger }, key: string): Promise<void> {
  try {
    await deps.blobs.delete(key);
  } catch (err) {
    deps.log.warn({ err, key }, 'duplicate original not deleted');
  }
}
