import { ShutterError } from '@shutter/protocol';

/** Why processing refuses an upload; each is a stable public code (docs/errors.md). */
export type RefusalCode = 'unsupported_media_type' | 'image_too_large' | 'image_corrupt' | 'image_empty';

/**
 * The upload can never be processed: the media item fails with this code and
 * the job is not retried (`retryable` is false for every refusal code).
 */
export class MediaRefused extends ShutterError {
  constructor(code: RefusalCode, message: string, cause?: unknown) {
    super(code, message, cause === undefined ? {} : { cause });
  }
}
