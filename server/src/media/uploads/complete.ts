import { ShutterError } from '@shutter/protocol';
import type { BlobInfo, BlobStore } from '../../blobs/blob-store.js';
import type { MediaIngest } from '../ingest.js';
import type { UploadRecord, UploadRepo } from './upload-repo.js';

export type IngestResult = Awaited<ReturnType<MediaIngest['ingest']>>;

interface Deps {
  store: BlobStore;
  repo: UploadRepo;
  ingest: MediaIngest;
  limits: { presignExpirySeconds: number };
}

/** After the last presigned URL of a completed single PUT expired (plus this), the sweeper deletes its key again. */
export const RECHECK_MARGIN_MS = 60_000;

/**
 * Completes an upload: pending → completing (one caller wins) → the store
 * joins the parts or already holds the object → sizes checked → `ingest` →
 * completed. A failure before the object is whole puts the upload back to
 * pending (the client fixes what is missing and completes again); a failure
 * of `ingest` leaves it `stored`, and completing again only retries `ingest`.
 * Completing a completed upload answers the same media again, with its
 * current status.
 */
export async function completeUpload(d: Deps, now: () => number, rec: UploadRecord): Promise<IngestResult> {
  const at = () => new Date(now());
  switch (rec.status) {
    case 'completed': {
      // The media's state now, not the one recorded at completion: a client
      // completing again after a lost answer may have missed the event.
      const current = rec.mediaId ? await d.ingest.mediaState(rec.mediaId) : undefined;
      return {
        mediaId: rec.mediaId ?? '',
        status: current?.status ?? ((rec.mediaStatus ?? 'processing') as IngestResult['status']),
      };
    }
    case 'completing':
      throw new ShutterError('conflict', 'the upload is being completed; try again shortly', {
        retryAfterMs: 1000,
      });
    case 'aborted':
    case 'expired':
    case 'failed':
      throw new ShutterError(
        'upload_expired',
        `the upload is ${rec.status}${rec.failure ? ` (${rec.failure})` : ''}; start a new one`,
      );
    case 'pending':
      if (rec.expiresAt.getTime() <= now())
        throw new ShutterError('upload_expired', 'the upload expired; start a new one');
      break;
    case 'stored':
      break;
    default:
      return rec.status satisfies never;
  }
  const parts = rec.mode === 'multipart' && rec.status === 'pending' ? await d.repo.parts(rec.id) : [];
  if (rec.mode === 'multipart' && rec.status === 'pending') {
    const have = new Set(parts.map((p) => p.partNumber));
    const missing = Array.from({ length: rec.partCount }, (_, i) => i + 1).filter((n) => !have.has(n));
    if (missing.length > 0) {
      throw new ShutterError(
        'part_missing',
        `${missing.length} of ${rec.partCount} parts are not uploaded yet`,
        { details: { missing: missing.slice(0, 1000) } },
      );
    }
  }
  const claimed = await d.repo.transition(rec.id, [rec.status], 'completing', at());
  if (!claimed)
    throw new ShutterError('conflict', 'the upload changed meanwhile; ask its status', { retryAfterMs: 500 });

  if (rec.status === 'pending') {
    try {
      const info = await storeWhole(d.store, rec, parts);
      if (info.size !== rec.size) {
        await d.store.delete(rec.objectKey);
        // Multipart parts are consumed by the join: nothing left to fix.
        const to = rec.mode === 'multipart' ? 'failed' : 'pending';
        await d.repo.transition(
          rec.id,
          ['completing'],
          to,
          at(),
          to === 'failed' ? { failure: 'size_mismatch' } : {},
        );
        throw new ShutterError(
          'size_mismatch',
          `the upload holds ${info.size} bytes, not the ${rec.size} declared`,
          { details: { expected: rec.size, received: info.size } },
        );
      }
    } catch (e) {
      await d.repo.transition(rec.id, ['completing'], 'pending', at());
      throw e;
    }
  }
  let result: IngestResult;
  try {
    const input = {
      ownerId: rec.ownerId,
      objectKey: rec.objectKey,
      size: rec.size,
      declaredType: rec.contentType,
    };
    result = await d.ingest.ingest(rec.sha256 ? { ...input, sha256: rec.sha256 } : input);
  } catch (e) {
    await d.repo.transition(rec.id, ['completing'], 'stored', at());
    throw e;
  }
  // A single PUT's URL still takes bytes until it expires (S3 cannot revoke
  // it): they land on the upload's key, which processing leaves for a
  // content-addressed one. The sweeper deletes that key once more after the
  // last URL expired (URLs are issued only while the upload is pending).
  const recheck =
    rec.mode === 'single' ? new Date(now() + d.limits.presignExpirySeconds * 1000 + RECHECK_MARGIN_MS) : null;
  await d.repo.transition(rec.id, ['completing'], 'completed', at(), {
    mediaId: result.mediaId,
    mediaStatus: result.status,
    ...(recheck ? { recheckAt: recheck } : {}),
  });
  return result;
}

/** Makes the store hold the whole object and returns it; `part_missing` when it cannot. */
async function storeWhole(
  store: BlobStore,
  rec: UploadRecord,
  parts: { partNumber: number; etag: string }[],
): Promise<BlobInfo> {
  if (rec.mode === 'multipart') {
    try {
      return await store.completeMultipart(rec.objectKey, rec.storeUploadId ?? '', parts);
    } catch (e) {
      // The store may have joined the parts before a crash or a lost answer:
      // then the upload id is gone but the object is there.
      if (!(e instanceof ShutterError) || e.code !== 'not_found') throw e;
      const info = await store.head(rec.objectKey);
      if (info) return info;
      throw new ShutterError('upload_expired', 'the store no longer has this upload; start a new one', {
        cause: e,
      });
    }
  }
  const info = await store.head(rec.objectKey);
  if (!info)
    throw new ShutterError('part_missing', 'nothing has been PUT to the upload URL yet', {
      details: { missing: [1] },
    });
  return info;
}
