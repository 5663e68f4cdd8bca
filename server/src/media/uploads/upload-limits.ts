import type { Config } from '../../config/index.js';

/** The limits and timings of the upload paths (from `config.media`, or set directly in tests). */
export interface UploadLimits {
  /** Largest upload, any path. */
  maxUploadBytes: number;
  /** Uploads up to this size get one presigned PUT; larger ones are multipart. */
  singlePutMaxBytes: number;
  /** Size of each part but the last (grown when a file would need more than 10 000 parts). */
  partBytes: number;
  presignExpirySeconds: number;
  uploadExpirySeconds: number;
  quotaInFlightBytes: number;
  quotaInFlightUploads: number;
  quotaDailyBytes: number;
  /** Declared content types accepted (the bytes are sniffed again by processing). */
  acceptedTypes: readonly string[];
}

/** The types sharp decodes here; HEIC is not among them (see ENVIRONMENT.md). */
export const DEFAULT_ACCEPTED_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/tiff',
  'image/avif',
];

export function uploadLimitsFrom(media: Config['media']): UploadLimits {
  return {
    maxUploadBytes: media.maxUploadBytes,
    singlePutMaxBytes: Math.min(media.singlePutMaxBytes, media.maxUploadBytes),
    partBytes: media.partBytes,
    presignExpirySeconds: media.presignExpirySeconds,
    uploadExpirySeconds: media.uploadExpirySeconds,
    quotaInFlightBytes: media.quotaInFlightBytes,
    quotaInFlightUploads: media.quotaInFlightUploads,
    quotaDailyBytes: media.quotaDailyBytes,
    acceptedTypes: DEFAULT_ACCEPTED_TYPES,
  };
}

/** Part size and count of a multipart upload of `size` bytes: at most 10 000 parts. */
export function planParts(size: number, partBytes: number): { partSize: number; partCount: number } {
  const partSize = Math.max(partBytes, Math.ceil(size / 10_000));
  return { partSize, partCount: Math.max(1, Math.ceil(size / partSize)) };
}

/** Expected size of part `n` (1-based). */
export function partLength(n: number, size: number, partSize: number, partCount: number): number {
  return n < partCount ? partSize : size - partSize * (partCount - 1);
}
