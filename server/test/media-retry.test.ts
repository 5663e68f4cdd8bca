import { networkInterfaces } from 'node:os';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalBlobStore } from '../src/adapters/local-blob-store.js';
import { createMediaService, type JobQueue, type MediaJob } from '../src/media/index.js';
import type { ShutterNode } from '../src/node.js';
import { MediaHarness } from './fixtures/media-harness.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';
import { deleteNamespaceStreams, natsUrl } from './services.js';

// POST /v1/admin/media/:id/retry through whole nodes: a job that died of an
// object-store outage is retried to ready (on the SQL and the JetStream job
// queue); refusals, unknown ids and other states are refused; the admin guard
// is the one of /v1/admin/publish. Then MediaService.retry's races and
// failures on the media harness (PGlite, SQL job queue, in-memory store).

/**
 * The outage: while set, every read of the nodes' object store (the real
 * LocalBlobStore under DATA_DIR) fails, as when the store is unreachable.
 * Uploads only write, so they still succeed; processing jobs fail.
 */
let storeReadsFail = false;
const realGet = LocalBlobStore.prototype.get;
beforeAll(() => {
  vi.spyOn(LocalBlobStore.prototype, 'get').mockImplementation(function (this: LocalBlobStore, ...args) {
    if (storeReadsFail) return Promise.reject(new Error('object store unreachable (test)'));
    return realGet.apply(this, args);
  });
});
afterAll(() => {
  vi.restoreAllMocks();
});

/** Two attempts 20 ms apart: a job dies within a fraction of a second. */
const FAST_JOBS = {
  MEDIA_JOB_MAX_ATTEMPTS: '2',
  MEDIA_JOB_BACKOFF_BASE_MS: '20',
  MEDIA_JOB_BACKOFF_MAX_MS: '50',
};

interface Answer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; details?: unknown } };
}

async function post(url: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  const r = await fetch(url, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
  return { status: r.status, body: (await r.json()) as Answer['body'] };
}

const retry = (node: ShutterNode, id: string, headers: Record<string, string> = {}) =>
  post(`${node.url}/v1/admin/media/${id}/retry`, headers);

const publish = (node: ShutterNode, headers: Record<string, string> = {}) =>
  post(`${node.url}/v1/admin/publish`, headers, JSON.stringify({ stream: 'topic:retry-test', data: 1 }));

/** A JPEG no other upload has (a random colour), so nothing deduplicates it. */
async function freshPhoto(): Promise<Buffer> {
  const background = { r: Math.floor(Math.random() * 256), g: Math.floor(Math.random() * 256), b: 77 };
  return sharp({ create: { width: 900, height: 600, channels: 3, background } })
    .jpeg()
    .toBuffer();
}

async function upload(node: ShutterNode, token: string, body: Buffer, contentType: string): Promise<string> {
  const r = await fetch(`${node.url}/v1/uploads/stream`, {
    method: 'PUT',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': contentType,
      'content-length': String(body.length),
    },
    body: new Uint8Array(body),
  });
  expect(r.status).toBe(201);
  return ((await r.json()) as { media: { mediaId: string } }).media.mediaId;
}

async function mediaStatus(node: ShutterNode, token: string, id: string): Promise<Record<string, unknown>> {
  const r = await fetch(`${node.url}/v1/media/${id}`, { headers: { authorization: `Bearer ${token}` } });
  expect(r.status).toBe(200);
  return (await r.json()) as Record<string, unknown>;
}

type MediaEventData = { type: string; mediaId: string; code?: string; stage?: string };

function mediaEvent(socket: RawClient, mediaId: string, type: string, from = 0) {
  return socket.next(
    (m) =>
      m.t === 'ev' &&
      (m.data as MediaEventData).mediaId === mediaId &&
      (m.data as MediaEventData).type === type,
    30_000,
    from,
  ) as Promise<{ data: MediaEventData }>;
}

const BACKENDS: [string, Record<string, string>][] = [
  ['the SQL job queue (embedded default)', {}],
  ['the JetStream job queue', { NATS_URL: natsUrl }],
];

describe.each(BACKENDS)('admin retry of dead media processing on %s', (_name, env) => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode('ws', { ...FAST_JOBS, ...env });
  });
  afterAll(async () => {
    await node?.shutdown();
    if (!env.NATS_URL || !node) return;
    // The node's JetStream work queue and its state bucket outlive it: remove them.
    await deleteNamespaceStreams(node.config.services.namespace);
  });

  it('a photo whose job died of a store outage ends ready after the retry, with queued and ready events', async () => {
    const user = `retrier${Math.random().toString(36).slice(2, 8)}`;
    const token = await devToken(node, user);
    const socket = await RawClient.open(wsUrl(node), token);
    try {
      expect(await socket.call({ t: 'sub', stream: `user:${user}:media` })).toMatchObject({ t: 'res' });
      storeReadsFail = true;
      let mediaId: string;
      try {
        mediaId = await upload(node, token, await freshPhoto(), 'image/jpeg');
        const failed = await mediaEvent(socket, mediaId, 'media.failed');
        expect(failed.data.code).toBe('media_processing_failed');
      } finally {
        storeReadsFail = false;
      }
      expect(await mediaStatus(node, token, mediaId)).toMatchObject({
        status: 'failed',
        failureCode: 'media_processing_failed',
      });

      const from = socket.messages.length;
      const r = await retry(node, mediaId);
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ id: mediaId, ownerId: user, failureCode: null, failureReason: null });
      // Processing may already be over by the time the answer is written.
      expect(['processing', 'ready']).toContain(r.body.status);

      await mediaEvent(socket, mediaId, 'media.ready', from);
      const after = socket.messages
        .slice(from)
        .flatMap((e) => (e.t === 'ev' && (e.data as MediaEventData).mediaId === mediaId ? [e.data] : []));
      expect(after[0]).toMatchObject({ type: 'media.progress', stage: 'queued', percent: 0 });
      expect(after.at(-1)).toMatchObject({ type: 'media.ready' });
      expect(after.map((e) => (e as MediaEventData).type)).not.toContain('media.failed');
      const m = await mediaStatus(node, token, mediaId);
      expect(m).toMatchObject({ status: 'ready', width: 900, height: 600, failureCode: null });
      expect(m.variants).toHaveLength(6);

      // Ready now: a second retry is a conflict and changes nothing.
      const again = await retry(node, mediaId);
      expect(again.status).toBe(409);
      expect(again.body.error).toMatchObject({ code: 'conflict', details: { status: 'ready' } });
      expect(await mediaStatus(node, token, mediaId)).toEqual(m);
    } finally {
      socket.close();
    }
  }, 90_000);

  it('answers conflict for a refused item (refusals are final) and not_found for an unknown id', async () => {
    const user = `refused${Math.random().toString(36).slice(2, 8)}`;
    const token = await devToken(node, user);
    const socket = await RawClient.open(wsUrl(node), token);
    try {
      await socket.call({ t: 'sub', stream: `user:${user}:media` });
      const text = Buffer.from('just text pretending to be a photo');
      const mediaId = await upload(node, token, text, 'image/jpeg');
      expect((await mediaEvent(socket, mediaId, 'media.failed')).data.code).toBe('unsupported_media_type');
      const before = await mediaStatus(node, token, mediaId);

      const r = await retry(node, mediaId);
      expect(r.status).toBe(409);
      expect(r.body.error).toMatchObject({
        code: 'conflict',
        details: { status: 'failed', failureCode: 'unsupported_media_type' },
      });
      expect(r.body.error?.message).toContain('refusals are final');
      expect(await mediaStatus(node, token, mediaId)).toEqual(before);

      const unknown = await retry(node, 'm_no_such_item');
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toMatchObject({ code: 'not_found' });
    } finally {
      socket.close();
    }
  }, 60_000);
});

describe('the admin guard of the retry route is the one of /v1/admin/publish', () => {
  it('with ADMIN_TOKEN set: 401 auth_failed without or with a wrong token, through with the token', async () => {
    const node = await startTestNode('ws', { ADMIN_TOKEN: 'retry-test-secret' });
    try {
      for (const headers of [{}, { authorization: 'Bearer wrong' }]) {
        const r = await retry(node, 'm_no_such_item', headers);
        const p = await publish(node, headers);
        expect([r.status, r.body.error?.code]).toEqual([401, 'auth_failed']);
        expect([p.status, p.body.error]).toEqual([r.status, r.body.error]);
      }
      const ok = { authorization: 'Bearer retry-test-secret' };
      const r = await retry(node, 'm_no_such_item', ok);
      expect([r.status, r.body.error?.code]).toEqual([404, 'not_found']);
      expect((await publish(node, ok)).status).toBe(200);
    } finally {
      await node.shutdown();
    }
  });

  // The node listens on this machine's non-loopback address only, so every call comes from it.
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  it.skipIf(!external)('without ADMIN_TOKEN: 403 forbidden for a caller that is not loopback', async () => {
    const node = await startTestNode('ws', { HOST: external ?? '' });
    try {
      expect(node.url).toBe(`http://${external}:${node.port}`);
      const r = await retry(node, 'm_no_such_item');
      const p = await publish(node);
      expect([r.status, r.body.error?.code]).toEqual([403, 'forbidden']);
      expect([p.status, p.body.error]).toEqual([r.status, r.body.error]);
    } finally {
      await node.shutdown();
    }
  });
});

describe('MediaService.retry on the media harness', () => {
  const h = MediaHarness.use();

  /** The harness's media service over its queue with some methods replaced (a queue that is down). */
  function serviceWithQueue(overrides: Partial<JobQueue<MediaJob>>) {
    const queue = new Proxy(h.queue, {
      get(target, prop) {
        const own = (overrides as Record<string | symbol, unknown>)[prop];
        if (own) return own;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    return createMediaService({ sql: h.sql, blobs: h.blobs, queue, publisher: h.publisher, log: h.log });
  }

  async function deadItem(name: string): Promise<string> {
    h.blobs.failGets = 3; // every attempt of the harness's queue (maxAttempts 3) fails
    const { mediaId } = await h.upload(name, { key: `uploads/retry-${name}` });
    expect(await h.settled(mediaId)).toMatchObject({
      status: 'failed',
      failureCode: 'media_processing_failed',
    });
    expect(await h.queue.get(mediaId)).toMatchObject({ status: 'dead', attempts: 3 });
    expect(h.blobs.failGets).toBe(0);
    return mediaId;
  }

  it('of two concurrent retries one re-queues and the other is a conflict; the photo is processed once', async () => {
    const mediaId = await deadItem('orient-5.jpg');
    const gets = h.blobs.gets;
    const events = h.publisher.of(mediaId).length;
    const [a, b] = await Promise.allSettled([h.media.retry(mediaId), h.media.retry(mediaId)]);
    const won = [a, b].filter((x) => x.status === 'fulfilled');
    const lost = [a, b].filter((x) => x.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'conflict',
      details: { status: 'processing' },
    });
    const m = await h.settled(mediaId);
    expect(m).toMatchObject({ status: 'ready', failureCode: null });
    await h.checkVariants(m, 1600, 1000);
    expect(await h.queue.get(mediaId)).toMatchObject({ status: 'done', attempts: 1 });
    expect(h.blobs.gets - gets).toBe(1);
    const after = h.publisher.of(mediaId).slice(events);
    expect(after.filter((e) => e.stage === 'queued')).toHaveLength(1);
    expect(after.at(-1)).toMatchObject({ type: 'media.ready' });
  });

  it('with the queue down answers unavailable and leaves the item failed as it was; a later retry works', async () => {
    const mediaId = await deadItem('photo.tiff');
    const before = await h.media.get(mediaId);
    const down = serviceWithQueue({
      retry: async () => {
        throw new Error('queue unreachable (test)');
      },
    });
    await expect(down.retry(mediaId)).rejects.toMatchObject({ code: 'unavailable' });
    const still = await h.media.get(mediaId);
    expect(still).toMatchObject({
      status: 'failed',
      failureCode: 'media_processing_failed',
      failureReason: before?.failureReason,
    });
    expect(await h.queue.get(mediaId)).toMatchObject({ status: 'dead' });
    expect((await h.media.retry(mediaId)).status).toBe('processing');
    expect(await h.settled(mediaId)).toMatchObject({ status: 'ready' });
  });

  it('queues a job for an item whose job could never be queued at ingest', async () => {
    const noEnqueue = serviceWithQueue({
      enqueue: async () => {
        throw new Error('queue unreachable (test)');
      },
    });
    const key = 'uploads/retry-never-queued.png';
    const data = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#2050a0' } })
      .png()
      .toBuffer();
    await h.blobs.put(key, data, { contentType: 'image/png' });
    const input = { ownerId: 'u1', objectKey: key, size: data.length, declaredType: 'image/png' };
    await expect(noEnqueue.ingest(input)).rejects.toMatchObject({ code: 'unavailable' });
    const r = await h.sql.query<{ id: string }>('SELECT id FROM media_items WHERE original_key = $1', [key]);
    const mediaId = r.rows[0]?.id ?? '';
    expect(await h.media.get(mediaId)).toMatchObject({
      status: 'failed',
      failureCode: 'media_processing_failed',
    });
    expect(await h.queue.get(mediaId)).toBeUndefined();
    expect((await h.media.retry(mediaId)).status).toBe('processing');
    expect(await h.settled(mediaId)).toMatchObject({ status: 'ready', width: 300, height: 200 });
    expect(await h.queue.get(mediaId)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('finishes a retry whose node died after reopening the item and before re-queueing its job', async () => {
    const mediaId = await deadItem('progressive.jpg');
    // What a crash between step 1 and step 2 leaves: the item processing, its job dead.
    await h.sql.query(
      `UPDATE media_items SET status = 'processing', failure_code = NULL, failure_reason = NULL WHERE id = $1`,
      [mediaId],
    );
    expect(await h.queue.get(mediaId)).toMatchObject({ status: 'dead' });
    expect((await h.media.retry(mediaId)).status).toBe('processing');
    expect(await h.settled(mediaId)).toMatchObject({ status: 'ready', failureCode: null });
    expect(await h.queue.get(mediaId)).toMatchObject({ status: 'done', attempts: 1 });
    // Once the job runs again, a second retry is refused like any processing or ready item.
    await expect(h.media.retry(mediaId)).rejects.toMatchObject({ code: 'conflict' });
  });
});
