import { isValidStreamName } from '@shutter/protocol';
import type { Logger } from '../log.js';
import type { StreamPublisher } from '../streams/publisher.js';
import type { MediaItem, MediaVariant } from './media-records.js';

/** Stages a processing job reports, in order. */
export type MediaStage = 'queued' | 'reading' | 'decoding' | 'resizing' | 'encoding' | 'storing';

/** What the uploader's socket receives on stream `user:<ownerId>:media` (docs/media-processing.md). */
export type MediaEvent =
  | { type: 'media.progress'; mediaId: string; stage: MediaStage; percent: number }
  | {
      type: 'media.ready';
      mediaId: string;
      variants: MediaVariant[];
      placeholder: string | null;
      width: number | null;
      height: number | null;
    }
  | { type: 'media.failed'; mediaId: string; code: string; reason: string };

export function mediaStream(ownerId: string): string {
  return `user:${ownerId}:media`;
}

/**
 * Publishes media events. The database is the truth and events are a
 * courtesy on top: a failed publish is logged, never fails the job.
 */
export class MediaEvents {
  constructor(
    private readonly publisher: StreamPublisher,
    private readonly log: Logger,
  ) {}

  async publish(ownerId: string, event: MediaEvent): Promise<void> {
    const stream = mediaStream(ownerId);
    if (!isValidStreamName(stream)) {
      this.log.warn(
        { ownerId, mediaId: event.mediaId },
        'owner id does not form a valid stream name; media event dropped',
      );
      return;
    }
    try {
      await this.publisher.publish(stream, event);
    } catch (err) {
      this.log.warn({ err, stream, type: event.type, mediaId: event.mediaId }, 'media event not published');
    }
  }

  /** `media.ready` or `media.failed` for an item that has finished. */
  async finished(item: MediaItem): Promise<void> {
    if (item.status === 'ready') {
      await this.publish(item.ownerId, {
        type: 'media.ready',
        mediaId: item.id,
        variants: item.variants,
        placeholder: item.placeholder,
        width: item.width,
        height: item.height,
      });
    } else if (item.status === 'failed') {
      await this.publish(item.ownerId, {
        type: 'media.failed',
        mediaId: item.id,
        code: item.failureCode ?? 'media_processing_failed',
        reason: item.failureReason ?? '',
      });
    }
  }
}
