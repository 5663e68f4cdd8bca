import { connect } from '@nats-io/transport-node';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  createMediaService,
  type MediaJob,
  NatsJobQueue,
  startProcessingWorker,
} from '../src/media/index.js';
import { MediaHarness } from './fixtures/media-harness.js';
import { natsUrl, uniqueName } from './services.js';

// Status events, dedup, idempotency, retries and dead letters; the JetStream queue end to end.
const h = MediaHarness.use();

describe('status, dedup and retries', () => {
  it('publishes queued → progress stages → ready with variants on user:<owner>:media', async () => {
    const { mediaId, status } = await h.upload('orient-6.jpg', { key: 'uploads/events-6.jpg' });
    expect(status).toBe('processing');
    const m = await h.settled(mediaId);
    const evs = h.publisher.events.filter((e) => e.data.mediaId === mediaId);
    expect(new Set(evs.map((e) => e.stream))).toEqual(new Set(['user:u1:media']));
    const stages = evs.filter((e) => e.data.type === 'media.progress').map((e) => e.data.stage);
    expect(stages[0]).toBe('queued');
    expect(evs.at(-1)?.data).toEqual({
      type: 'media.ready',
      mediaId,
      variants: m.variants,
      placeholder: m.placeholder,
      width: 1600,
      height: 1000,
    });
    expect(m.placeholder).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it('dedups identical content: a known SHA-256 is ready at once, sharing variants, its copy deleted', async () => {
    const first = await h.settled((await h.upload('progressive.jpg', { key: 'uploads/dup-a.jpg' })).mediaId);
    const second = await h.upload('progressive.jpg', { key: 'uploads/dup-b.jpg', sha256: true });
    expect(second.status).toBe('ready');
    const m = (await h.media.get(second.mediaId))!;
    expect(m).toMatchObject({
      status: 'ready',
      originalKey: first.originalKey,
      variants: first.variants,
      sha256: first.sha256,
    });
    expect(h.blobs.objects.has('uploads/dup-b.jpg')).toBe(false);
    expect(h.blobs.objects.has(first.originalKey)).toBe(true);
    expect(h.publisher.of(second.mediaId).at(-1)).toMatchObject({
      type: 'media.ready',
      variants: first.variants,
    });
  });

  it('dedups identical content found by the job (SHA-256 unknown at upload) without processing it again', async () => {
    const first = await h.settled((await h.upload('photo.webp', { key: 'uploads/dup-c.webp' })).mediaId);
    const second = await h.upload('photo.webp', { key: 'uploads/dup-d.webp' });
    expect(second.status).toBe('processing');
    const m = await h.settled(second.mediaId);
    expect(m).toMatchObject({ status: 'ready', originalKey: first.originalKey, variants: first.variants });
    expect(h.blobs.objects.has('uploads/dup-d.webp')).toBe(false);
    const stages = h.publisher
      .of(second.mediaId)
      .filter((e) => e.type === 'media.progress')
      .map((e) => e.stage);
    expect(stages).not.toContain('decoding');
  });

  it('is idempotent: a job for a finished item changes nothing', async () => {
    const m = await h.settled((await h.upload('orient-3.jpg', { key: 'uploads/idem.jpg' })).mediaId);
    const before = h.publisher.events.length;
    await h.queue.enqueue(`${m.id}_again`, { mediaId: m.id });
    const end = Date.now() + 10_000;
    while ((await h.queue.get(`${m.id}_again`))?.status !== 'done' && Date.now() < end)
      await new Promise((r) => setTimeout(r, 20));
    expect(await h.media.get(m.id)).toEqual(m);
    expect(h.publisher.events.length).toBe(before);
  });

  it('retries a transient store failure with backoff, then dead-letters and fails the item with media_processing_failed', async () => {
    h.blobs.failGets = 1;
    const a = await h.settled((await h.upload('orient-2.jpg', { key: 'uploads/flaky.jpg' })).mediaId);
    expect(a.status).toBe('ready');
    expect(await h.queue.get(a.id)).toMatchObject({ status: 'done', attempts: 2 });
    h.blobs.failGets = 3;
    const { mediaId } = await h.upload('orient-4.jpg', { key: 'uploads/broken.jpg' });
    const b = await h.settled(mediaId);
    expect(b).toMatchObject({ status: 'failed', failureCode: 'media_processing_failed' });
    const job = await h.queue.get(mediaId);
    expect(job).toMatchObject({ status: 'dead', attempts: 3 });
    expect(job?.lastError).toContain('store unreachable');
    expect(h.publisher.of(mediaId).at(-1)).toMatchObject({
      type: 'media.failed',
      code: 'media_processing_failed',
    });
  });
});

describe('through a JetStream work queue', () => {
  it('processes an upload to ready with progress events, as on the SQL queue', async () => {
    const nc = await connect({ servers: natsUrl });
    const natsQueue = await NatsJobQueue.open<MediaJob>(nc, uniqueName('media'), {
      maxAttempts: 3,
      backoffBaseMs: 50,
    });
    const deps = { sql: h.sql, blobs: h.blobs, queue: natsQueue, publisher: h.publisher, log: h.log };
    const natsWorker = startProcessingWorker({ ...deps, concurrency: 1 });
    try {
      const viaNats = createMediaService(deps);
      const fresh = { r: Math.floor(Math.random() * 256), g: 90, b: 30 }; // content no other test uploads
      const data = await sharp({ create: { width: 1600, height: 1000, channels: 3, background: fresh } })
        .jpeg()
        .toBuffer();
      await h.blobs.put('uploads/nats-8.jpg', data, { contentType: 'image/jpeg' });
      const { mediaId } = await viaNats.ingest({
        ownerId: 'u2',
        objectKey: 'uploads/nats-8.jpg',
        size: data.length,
        declaredType: 'image/jpeg',
      });
      const m = await h.settled(mediaId);
      expect(m).toMatchObject({ status: 'ready', width: 1600, height: 1000 });
      await h.checkVariants(m, 1600, 1000);
      expect(await natsQueue.get(mediaId)).toMatchObject({ status: 'done', attempts: 1, percent: 100 });
      const evs = h.publisher.events.filter((e) => e.data.mediaId === mediaId);
      expect(evs.every((e) => e.stream === 'user:u2:media')).toBe(true);
      expect(evs.map((e) => e.data.stage ?? e.data.type)).toEqual([
        'queued',
        'reading',
        'decoding',
        'resizing',
        'encoding',
        'storing',
        'media.ready',
      ]);
    } finally {
      await natsWorker.stop();
      await natsQueue.destroy();
      await nc.close();
    }
  });
});
