import { randomBytes } from 'node:crypto';
import { createUploader, type FetchLike, type Upload, type UploadEvents } from '@shutter/client-sdk';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';

const MiB = 1024 * 1024;

/** A 12-megapixel JPEG of noise (~12 MB, so three 5 MiB parts); noise keeps each one unique (no dedup). */
async function noisePhoto(width = 4000, height = 3000): Promise<Buffer> {
  const raw = randomBytes(width * height * 3);
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** The real fetch, logging what the SDK sends; `dropOnce` fails the first PUT of that part number on the "network". */
function recordingFetch(dropOnce?: number) {
  const calls: { method: string; url: URL }[] = [];
  let dropped = false;
  const fn: FetchLike = async (url, init) => {
    const u = new URL(url);
    const method = init.method ?? 'GET';
    calls.push({ method, url: u });
    if (method === 'PUT' && !dropped && Number(u.searchParams.get('partNumber')) === dropOnce) {
      dropped = true;
      throw new TypeError('fetch failed'); // what undici throws when the connection drops
    }
    return fetch(url, init);
  };
  const reported = () =>
    calls
      .map((c) => /\/v1\/uploads\/[^/]+\/parts\/(\d+)$/.exec(c.url.pathname)?.[1])
      .filter((n) => n !== undefined)
      .map(Number);
  const partPuts = () =>
    calls.filter((c) => c.method === 'PUT' && c.url.searchParams.has('partNumber')).map((c) => c.url);
  return { fn, calls, reported, partPuts };
}

describe('the SDK upload helper against a real node', () => {
  let node: ShutterNode;
  const user = 'sdk-uploader';
  const token = () => devToken(node, user);
  const api = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(`${node.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${await token()}` },
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const uploader = (fetchFn: FetchLike) =>
    createUploader({
      url: wsUrl(node),
      getToken: token,
      fetch: fetchFn,
      partConcurrency: 1,
      backoff: { minMs: 20, maxMs: 200 },
    });
  /** Polls GET /v1/media/:id until processing ends. */
  const settled = async (mediaId: string, ms = 60_000) => {
    const end = Date.now() + ms;
    for (;;) {
      const { body } = await api(`/v1/media/${mediaId}`);
      if (body.status !== 'processing' || Date.now() > end) return body;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const pauseAfterFirstPart = (up: Upload) =>
    new Promise<void>((resolve) => {
      const off = up.on('progress', (p) => {
        if (p.partsDone !== 1) return;
        off();
        up.pause();
        resolve();
      });
    });

  beforeAll(async () => {
    node = await startTestNode('ws', {
      MEDIA_SINGLE_PUT_MAX_BYTES: String(MiB),
      MEDIA_PART_BYTES: String(5 * MiB), // the smallest S3 allows
    });
  });
  afterAll(async () => node.shutdown());

  it('a 12 MB JPEG paused after its first part resumes, sends each part once, and ends ready', async () => {
    const photo = await noisePhoto();
    const net = recordingFetch();
    const up = uploader(net.fn).upload(photo, { contentType: 'image/jpeg' });
    await pauseAfterFirstPart(up);
    expect(up.state).toBe('paused');
    expect(up.progress).toEqual({ bytesSent: 5 * MiB, totalBytes: photo.length, partsDone: 1, partCount: 3 });

    await new Promise((r) => setTimeout(r, 200));
    const mid = await api(`/v1/uploads/${up.uploadId}`);
    expect(mid.body).toMatchObject({ mode: 'multipart', status: 'pending', partCount: 3, missing: [2, 3] });
    expect(net.partPuts()).toHaveLength(1); // nothing started while paused

    up.resume();
    const result = await up.done;
    expect(result).toMatchObject({ uploadId: up.uploadId, status: 'processing' });
    expect(net.reported()).toEqual([1, 2, 3]);
    expect(net.calls.some((c) => c.method === 'GET' && c.url.pathname === `/v1/uploads/${up.uploadId}`)).toBe(
      true,
    );
    expect(await settled(result.mediaId)).toMatchObject({ status: 'ready', width: 4000, height: 3000 });
  }, 90_000);

  it('after an "app restart", resumeUpload with only the uploadId sends the missing parts and completes', async () => {
    const photo = await noisePhoto(3000, 2500);
    const first = uploader(recordingFetch().fn).upload(photo, { contentType: 'image/jpeg' });
    await pauseAfterFirstPart(first); // the app dies here; only the id survives
    const id = first.uploadId!;

    const net = recordingFetch();
    const up = uploader(net.fn).resumeUpload(id, new Blob([new Uint8Array(photo)]), {
      contentType: 'image/jpeg',
    });
    const result = await up.done;
    expect(net.reported()).toEqual([2]);
    expect(net.calls.some((c) => c.method === 'POST' && c.url.pathname === '/v1/uploads')).toBe(false);
    expect(await settled(result.mediaId)).toMatchObject({ status: 'ready' });
  }, 90_000);

  it('a part dropped once by the network is retried after a backoff and the upload ends ready', async () => {
    const photo = await noisePhoto();
    const net = recordingFetch(2);
    const retries: UploadEvents['retry'][] = [];
    const up = uploader(net.fn).upload(photo, { contentType: 'image/jpeg' });
    up.on('retry', (r) => retries.push(r));
    const result = await up.done;
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ partNumber: 2, attempt: 1, error: { code: 'disconnected' } });
    expect(net.partPuts().map((u) => Number(u.searchParams.get('partNumber')))).toEqual([1, 2, 2, 3]);
    expect(net.reported()).toEqual([1, 2, 3]);
    expect(await settled(result.mediaId)).toMatchObject({ status: 'ready' });
  }, 90_000);

  it('cancel deletes the upload on the server; the server refuses an undeclared type with its code', async () => {
    const photo = await noisePhoto(3000, 2500);
    const up = uploader(fetch).upload(photo, { contentType: 'image/jpeg' });
    await pauseAfterFirstPart(up);
    await up.cancel();
    expect((await api(`/v1/uploads/${up.uploadId}`)).body).toMatchObject({ status: 'aborted' });

    const heic = uploader(fetch).upload(new Uint8Array(10), { contentType: 'image/heic' });
    await expect(heic.done).rejects.toMatchObject({ name: 'ShutterError', code: 'unsupported_media_type' });
  }, 60_000);
});
