import { createHash, randomBytes } from 'node:crypto';
import { ShutterError } from '@shutter/protocol';
import type { UploadLimits } from './upload-limits.js';
import type { UploadPart, UploadRecord } from './upload-repo.js';

/** What clients see of an upload (GET /v1/uploads/:id and the other answers). */
export interface UploadView {
  uploadId: string;
  mode: UploadRecord['mode'];
  status: UploadRecord['status'];
  size: number;
  contentType: string;
  expiresAt: string;
  partSize?: number;
  partCount?: number;
  /** Parts the server has recorded (multipart). */
  parts?: UploadPart[];
  /** Part numbers still to upload (multipart). */
  missing?: number[];
  /**
   * What the store holds at the upload URL (a pending single PUT, in
   * `GET /v1/uploads/:id` only): `null` when nothing arrived, else the
   * object's size, whatever it is (complete checks it against `size`). Left
   * out when the store could not be asked.
   */
  received?: { size: number } | null;
  media?: { id: string; status: string };
}

export function checkType(limits: UploadLimits, contentType: string): void {
  if (!limits.acceptedTypes.includes(contentType)) {
    const shown = contentType.slice(0, 60) || '(none)';
    throw new ShutterError(
      'unsupported_media_type',
      `Content-Type ${shown} is not accepted; send one of ${limits.acceptedTypes.join(', ')}`,
      {
        details: { accepted: limits.acceptedTypes },
      },
    );
  }
}

export function checkSize(limits: UploadLimits, size: number): void {
  if (!Number.isSafeInteger(size) || size < 1)
    throw new ShutterError('bad_request', 'size must be a positive integer (bytes)');
  const max = limits.maxUploadBytes;
  if (size > max) {
    throw new ShutterError('payload_too_large', `uploads may be at most ${max} bytes`, {
      details: { maxBytes: max },
    });
  }
}

/** Why an upload no longer takes parts or changes. */
export function closedError(rec: UploadRecord): ShutterError {
  if (rec.status === 'completed' || rec.status === 'stored' || rec.status === 'completing') {
    return new ShutterError('conflict', `the upload is ${rec.status}`);
  }
  const state = rec.status === 'pending' ? 'expired' : rec.status;
  return new ShutterError('upload_expired', `the upload is ${state}; start a new one`);
}

/** A new pending upload; its bytes go to `uploads/<owner>/<id>`. */
export function newRecord(
  limits: UploadLimits,
  nowMs: number,
  init: { ownerId: string; mode: UploadRecord['mode']; contentType: string; size: number },
): UploadRecord {
  const id = `up_${randomBytes(12).toString('hex')}`;
  const now = new Date(nowMs);
  // Owner ids outside the key alphabet (e.g. "auth0|123") are hashed.
  const owner = /^[A-Za-z0-9_=-]{1,64}$/.test(init.ownerId)
    ? init.ownerId
    : createHash('sha256').update(init.ownerId).digest('hex').slice(0, 32);
  return {
    ...init,
    id,
    status: 'pending',
    objectKey: `uploads/${owner}/${id}`,
    partSize: 0,
    partCount: 0,
    storeUploadId: null,
    sha256: null,
    mediaId: null,
    mediaStatus: null,
    failure: null,
    cleanupPending: false,
    cleanupAttempts: 0,
    recheckAt: null,
    createdAt: now,
    updatedAt: now,
    expiresAt: new Date(nowMs + limits.uploadExpirySeconds * 1000),
  };
}

export function view(rec: UploadRecord, parts?: UploadPart[]): UploadView {
  const v: UploadView = {
    uploadId: rec.id,
    mode: rec.mode,
    status: rec.status,
    size: rec.size,
    contentType: rec.contentType,
    expiresAt: rec.expiresAt.toISOString(),
  };
  if (rec.mode === 'multipart') {
    v.partSize = rec.partSize;
    v.partCount = rec.partCount;
  }
  if (parts) {
    v.parts = parts;
    const have = new Set(parts.map((p) => p.partNumber));
    v.missing = Array.from({ length: rec.partCount }, (_, i) => i + 1).filter((n) => !have.has(n));
  }
  if (rec.mediaId) v.media = { id: rec.mediaId, status: rec.mediaStatus ?? 'processing' };
  return v;
}
