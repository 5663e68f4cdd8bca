import { ShutterError } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeUploadServer } from './testing/fake-upload-server.js';
import { sleep, until } from './testing/wait.js';
import type { UploadEvents, UploadProgress } from './upload-types.js';
import { createUploader, httpBaseUrl } from './uploader.js';

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 256);

function setup(options: { partConcurrency?: number; maxAttempts?: number } = {}) {
  const server = new FakeUploadServer();
  const uploader = createUploader({
    baseUrl: 'https://api.test',
    getToken: server.getToken,
    fetch: server.fetch,
    backoff: { minMs: 100, maxMs: 1000, factor: 2 },
    random: () => 0.5,
    ...options,
  });
  return { server, uploader };
}

describe('uploads: the happy paths', () => {
  it('a small file takes the single presigned PUT, without Authorization and with exactly its headers', async () => {
    const { server, uploader } = setup();
    const seen: UploadProgress[] = [];
    const up = uploader.upload(new Blob([bytes(20)]), {
      contentType: 'image/jpeg',
      onProgress: (p) => seen.push(p),
    });
    await expect(up.done).resolves.toEqual({ uploadId: 'up_1', mediaId: 'm_up_1', status: 'processing' });
    expect(server.log.map((l) => `${l.method} ${l.what}`)).toEqual([
      'POST /v1/uploads',
      'PUT store:up_1/0',
      'POST /v1/uploads/up_1/complete',
    ]);
    const put = server.log[1]!;
    expect(put.headers).toEqual({ 'content-type': 'image/jpeg' }); // content-length comes from the body
    expect(put.bodySize).toBe(20);
    expect(server.log[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(seen.at(-1)).toEqual({ bytesSent: 20, totalBytes: 20, partsDone: 1, partCount: 1 });
    expect(up.state).toBe('done');
  });

  it('a large file goes multipart: each part PUT to its URL, its ETag reported, at most partConcurrency at once', async () => {
    const { server, uploader } = setup({ partConcurrency: 2 });
    const seen: UploadProgress[] = [];
    const created: UploadEvents['created'][] = [];
    const up = uploader.upload(bytes(45), { contentType: 'image/jpeg', onProgress: (p) => seen.push(p) });
    up.on('created', (c) => created.push(c));
    server.hold(1);
    server.hold(2);
    await until(() => server.inFlight === 2);
    await sleep(20);
    expect(server.puts()).toEqual(['store:up_1/1', 'store:up_1/2']); // no third while two are in flight
    server.release(1);
    server.release(2);
    await expect(up.done).resolves.toMatchObject({ mediaId: 'm_up_1' });
    expect(created).toEqual([{ uploadId: 'up_1', mode: 'multipart' }]);
    expect(server.puts().sort()).toEqual([
      'store:up_1/1',
      'store:up_1/2',
      'store:up_1/3',
      'store:up_1/4',
      'store:up_1/5',
    ]);
    expect(server.log.filter((l) => /parts\/\d$/.test(l.what))).toHaveLength(5);
    expect(server.log.filter((l) => l.what.endsWith('/parts/urls'))).toHaveLength(1); // one batch
    expect(server.maxInFlight).toBe(2);
    expect(server.log.find((l) => l.what === 'store:up_1/5')?.bodySize).toBe(5);
    expect(seen.map((p) => p.bytesSent)).toEqual([0, 10, 20, 30, 40, 45]);
    expect(seen.at(-1)).toEqual({ bytesSent: 45, totalBytes: 45, partsDone: 5, partCount: 5 });
  });

  it('derives the HTTP origin from the WebSocket URL', () => {
    expect(httpBaseUrl('wss://api.example.com/ws')).toBe('https://api.example.com');
    expect(httpBaseUrl('ws://127.0.0.1:8080/ws?x=1')).toBe('http://127.0.0.1:8080');
    expect(httpBaseUrl('wss://example.com/shutter/ws')).toBe('https://example.com/shutter');
    expect(() => createUploader({ getToken: async () => 't' })).toThrow('give baseUrl');
  });

  it('asks getToken again once after a 401 and repeats the request', async () => {
    const { server, uploader } = setup();
    await uploader.upload(bytes(5), { contentType: 'image/jpeg' }).done;
    await server.getToken(); // the server now wants tok-2: the uploader's cached tok-1 is stale
    await expect(uploader.upload(bytes(5), { contentType: 'image/jpeg' }).done).resolves.toMatchObject({
      uploadId: 'up_2',
    });
    expect(server.tokens).toBe(3);
    const creates = server.log.filter((l) => l.what === '/v1/uploads').map((l) => l.headers.authorization);
    expect(creates).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-3']);
  });
});

describe('uploads: failures and retries (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a part whose PUT fails on the network is sent again after a full-jitter delay, and the upload completes', async () => {
    const { server, uploader } = setup({ partConcurrency: 1 });
    server.failPart(3, 2, 'network');
    const retries: UploadEvents['retry'][] = [];
    const up = uploader.upload(bytes(45), { contentType: 'image/jpeg' });
    up.on('retry', (r) => retries.push(r));
    await vi.advanceTimersByTimeAsync(0);
    expect(retries.map((r) => [r.partNumber, r.attempt, r.delayMs, r.error.code])).toEqual([
      [3, 1, 50, 'disconnected'],
    ]);
    expect(server.puts()).toEqual(['store:up_1/1', 'store:up_1/2', 'store:up_1/3']);
    await vi.advanceTimersByTimeAsync(49);
    expect(server.puts()).toHaveLength(3); // still waiting: random 0.5 of a 100 ms window
    await vi.advanceTimersByTimeAsync(1);
    expect(retries.at(-1)).toMatchObject({ partNumber: 3, attempt: 2, delayMs: 100 });
    await vi.advanceTimersByTimeAsync(100);
    await expect(up.done).resolves.toMatchObject({ mediaId: 'm_up_1' });
    expect(server.puts().filter((p) => p === 'store:up_1/3')).toHaveLength(3);
    expect(server.uploads.get('up_1')?.status).toBe('completed');
  });

  it('a part that keeps failing ends the upload after maxAttempts with a typed ShutterError, stopping the other parts', async () => {
    const { server, uploader } = setup({ maxAttempts: 3, partConcurrency: 2 });
    server.failPart(2, 10, { status: 503 });
    const up = uploader.upload(bytes(45), { contentType: 'image/jpeg' });
    await vi.advanceTimersByTimeAsync(10_000);
    const err = await up.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShutterError);
    expect(err).toMatchObject({ code: 'unavailable', details: { status: 503 } });
    expect(server.puts().filter((p) => p === 'store:up_1/2')).toHaveLength(3);
    expect(server.log.some((l) => l.what.endsWith('/complete'))).toBe(false);
    expect(up.state).toBe('failed');
    expect(up.error).toBe(err);
  });

  it('a non-retryable answer fails at once with the server code', async () => {
    const { server, uploader } = setup();
    server.failPart(0, 1, { status: 400, code: 'size_mismatch' });
    const up = uploader.upload(bytes(20), { contentType: 'image/jpeg' });
    await expect(up.done).rejects.toMatchObject({ code: 'size_mismatch' });
    expect(server.puts()).toHaveLength(1);
  });

  it('an expired presigned URL (403) gets a fresh URL for that part', async () => {
    const { server, uploader } = setup({ partConcurrency: 1 });
    server.failPart(2, 1, { status: 403 });
    const up = uploader.upload(bytes(30), { contentType: 'image/jpeg' });
    await vi.advanceTimersByTimeAsync(1000);
    await expect(up.done).resolves.toMatchObject({ mediaId: 'm_up_1' });
    const urls = server.log.filter((l) => l.what.endsWith('/parts/urls'));
    expect(urls).toHaveLength(2);
  });

  it.each([
    [429, 'quota_exceeded', { limit: 'in_flight_uploads', allowed: 20, used: 20, requested: 1 }],
    [413, 'payload_too_large', { maxBytes: 50 }],
    [415, 'unsupported_media_type', { accepted: ['image/jpeg'] }],
  ])('a create refused with %i surfaces %s with its details, nothing retried', async (status, code, details) => {
    const { server, uploader } = setup();
    server.createError = new Response(JSON.stringify({ error: { code, message: 'no', details } }), {
      status,
    });
    const up = uploader.upload(bytes(20), { contentType: 'image/jpeg' });
    await expect(up.done).rejects.toMatchObject({ code, details });
    expect(server.log).toHaveLength(1);
  });

  it('complete answering part_missing sends those parts again, then completes', async () => {
    const { server, uploader } = setup();
    const up = uploader.upload(bytes(30), { contentType: 'image/jpeg' });
    up.on('state', (s) => {
      // The server lost part 2 between its report and complete.
      if (s === 'completing' && server.puts().length === 3) server.uploads.get('up_1')?.parts.delete(2);
    });
    await expect(up.done).resolves.toMatchObject({ mediaId: 'm_up_1' });
    expect(server.puts().slice(3)).toEqual(['store:up_1/2']);
  });
});
