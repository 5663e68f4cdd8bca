import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Job, JobConsumer, JobQueue } from '../../jobs/job-queue.js';
import type { Logger } from '../../log.js';
import type { Sql } from '../../sql/index.js';
import type { StreamPublisher } from '../../streams/publisher.js';
import { MediaEvents, type MediaStage } from '../events.js';
import { type MediaItem, MediaRecords, type MediaVariant, originalKeyOf } from '../media-records.js';
import { deleteQuietly, type MediaBlobs, type MediaJob } from '../media-service.js';
import { MediaRefused } from './errors.js';
import {
  defaultPipelineOptions,
  type EncodedVariant,
  type PipelineOptions,
  processImage,
} from './pipeline.js';

export interface ProcessingWorkerDeps {
  sql: Sql;
  blobs: MediaBlobs;
  queue: JobQueue<MediaJob>;
  publisher: StreamPublisher;
  log: Logger;
  /** Images processed at once by this node; 0 or absent: one per CPU core. */
  concurrency?: number;
  /** Originals larger than this are refused (image_too_large) before decoding. */
  maxInputBytes?: number;
  pipeline?: Partial<PipelineOptions>;
  /** Told how long each run of a job took (retries are runs of their own) and how it ended. */
  observe?: (outcome: 'ok' | 'error', seconds: number) => void;
}

export interface ProcessingWorker {
  stop(): Promise<void>;
}

const CONTENT_TYPE = { webp: 'image/webp', jpeg: 'image/jpeg' } as const;
/** Variant keys name their bytes, so they never change and caches may keep them forever. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const PERCENT: Record<MediaStage, number> = {
  queued: 0,
  reading: 5,
  decoding: 20,
  resizing: 45,
  encoding: 60,
  storing: 85,
};

/**
 * Takes processing jobs off the queue: reads the original (streaming, hashing
 * as it goes), reuses a ready item of the same owner and content if one
 * exists, otherwise validates and converts it, stores the variants and the
 * original under content-addressed keys (deleting the upload's copy) and
 * marks the item (and every item of the same owner and content still
 * processing) ready. A refusal fails the item with its code
 * and is not retried; anything else is retried by the queue, and a job that
 * goes dead fails its item with `media_processing_failed`. Running a job
 * twice is harmless: a finished item is skipped, keys are content hashes.
 */
export function startProcessingWorker(deps: ProcessingWorkerDeps): ProcessingWorker {
  const records = new MediaRecords(deps.sql);
  const events = new MediaEvents(deps.publisher, deps.log);
  const pipeline: PipelineOptions = { ...defaultPipelineOptions, ...deps.pipeline };
  const maxInputBytes = deps.maxInputBytes ?? 200 * 1024 * 1024;
  const concurrency = deps.concurrency || availableParallelism();

  async function handle(job: Job<MediaJob>): Promise<void> {
    const item = await records.get(job.payload.mediaId);
    if (item?.status !== 'processing') return;
    // Events of one job go out in order: progress never overtakes ready.
    let chain = Promise.resolve();
    const report = (stage: MediaStage) => {
      const percent = PERCENT[stage];
      chain = chain.then(async () => {
        await job.progress(stage, percent).catch(() => {});
        await events.publish(item.ownerId, { type: 'media.progress', mediaId: item.id, stage, percent });
      });
    };
    report('reading');
    const original = await readOriginal(item, maxInputBytes);
    if (original instanceof MediaRefused) {
      await chain;
      return finish(await records.markFailed(item.id, original.code, original.message));
    }
    const { data, sha256 } = original;
    const reused = await records.completeFromReady(item.id, item.ownerId, sha256);
    if (reused) {
      await chain;
      if (reused.originalKey !== item.originalKey) await deleteQuietly(deps, item.originalKey);
      return finish([reused]);
    }
    let processed: Awaited<ReturnType<typeof processImage>>;
    try {
      processed = await processImage(data, pipeline, (stage) => report(stage));
    } catch (err) {
      if (!(err instanceof MediaRefused)) throw err;
      await chain;
      return finish(
        await records.markFailed(item.id, err.code, err.message, { ownerId: item.ownerId, sha256 }),
      );
    }
    report('storing');
    const stored = new Map<string, Promise<void>>();
    const [variants] = await Promise.all([
      Promise.all(processed.variants.map((v) => storeVariant(v, stored))),
      // The original moves to a key named by its hash, written from the very
      // bytes hashed and decoded: the upload's key stays writable through its
      // presigned URL until that expires, this one never is. Equal bytes (of
      // any user, any concurrent job) land on the same key: one copy.
      deps.blobs.put(originalKeyOf(sha256), data, {
        contentType: `image/${processed.format}`,
        size: data.length,
      }),
    ]);
    await chain;
    const done = await records.markReady(item.id, item.ownerId, {
      sha256,
      format: processed.format,
      width: processed.width,
      height: processed.height,
      variants,
      placeholder: processed.placeholder,
      originalBytes: data.length,
    });
    for (const d of done)
      if (d.previousKey !== originalKeyOf(sha256)) await deleteQuietly(deps, d.previousKey);
    await finish(done);
  }

  async function finish(items: MediaItem[]): Promise<void> {
    for (const i of items) await events.finished(i);
  }

  async function readOriginal(
    item: MediaItem,
    limit: number,
  ): Promise<{ data: Buffer; sha256: string } | MediaRefused> {
    const obj = await deps.blobs.get(item.originalKey);
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of obj.body) {
      size += chunk.byteLength;
      if (size > limit) return new MediaRefused('image_too_large', `The file is larger than ${limit} bytes.`);
      hash.update(chunk);
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    return { data: Buffer.concat(chunks, size), sha256: hash.digest('hex') };
  }

  /** Small originals give equal variants for several sizes: each key is written once (`stored`). */
  async function storeVariant(v: EncodedVariant, stored: Map<string, Promise<void>>): Promise<MediaVariant> {
    const key = `media/v/${createHash('sha256').update(v.data).digest('hex')}.${v.format === 'jpeg' ? 'jpg' : 'webp'}`;
    let put = stored.get(key);
    if (!put) {
      const meta = { contentType: CONTENT_TYPE[v.format], cacheControl: IMMUTABLE, size: v.data.length };
      put = deps.blobs.put(key, v.data, meta).then(() => {});
      stored.set(key, put);
    }
    await put;
    return { size: v.size, format: v.format, key, bytes: v.data.length, width: v.width, height: v.height };
  }

  async function onDead(job: Job<MediaJob>, err: unknown): Promise<void> {
    deps.log.error(
      { err, mediaId: job.payload.mediaId, attempts: job.attempt },
      'media processing job dead-lettered',
    );
    const reason = 'Processing failed on every attempt; upload the photo again.';
    await finish(await records.markFailed(job.payload.mediaId, 'media_processing_failed', reason));
  }

  const observe = deps.observe;
  const run = !observe
    ? handle
    : async (job: Job<MediaJob>) => {
        const t0 = performance.now();
        try {
          await handle(job);
          observe('ok', (performance.now() - t0) / 1000);
        } catch (err) {
          observe('error', (performance.now() - t0) / 1000);
          throw err;
        }
      };
  const consumer: JobConsumer = deps.queue.consume(run, { concurrency, onDead });
  return { stop: () => consumer.stop() };
}
