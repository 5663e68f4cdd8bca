import { describe, expect, it } from 'vitest';
import { FakeUploadServer } from './testing/fake-upload-server.js';
import { sleep, until } from './testing/wait.js';
import { UploadCancelledError, type UploadProgress, type UploadState } from './upload-types.js';
import { createUploader } from './uploader.js';

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 256);

function setup() {
  const server = new FakeUploadServer();
  const uploader = createUploader({
    baseUrl: 'https://api.test/',
    getToken: server.getToken,
    fetch: server.fetch,
    partConcurrency: 1,
    backoff: { minMs: 1, maxMs: 5, factor: 2 },
  });
  return { server, uploader };
}

describe('uploads: pause, resume, cancel', () => {
  it('pause aborts the part in flight and starts no other; resume asks the server and sends only what it lacks', async () => {
    const { server, uploader } = setup();
    server.hold(2);
    const states: UploadState[] = [];
    const up = uploader.upload(bytes(45), { contentType: 'image/jpeg' });
    up.on('state', (s) => states.push(s));
    await until(() => server.inFlight === 1 && server.puts().length === 2, 3000, 'part 2 in flight');
    expect(up.progress).toEqual({ bytesSent: 10, totalBytes: 45, partsDone: 1, partCount: 5 });

    up.pause();
    await until(() => server.inFlight === 0, 3000, 'the held PUT to be aborted');
    await sleep(30);
    expect(up.state).toBe('paused');
    expect(server.puts()).toEqual(['store:up_1/1', 'store:up_1/2']);
    expect([...(server.uploads.get('up_1')?.parts.keys() ?? [])]).toEqual([1]);

    server.release(2);
    const before = server.log.length;
    up.resume();
    await expect(up.done).resolves.toMatchObject({ uploadId: 'up_1', mediaId: 'm_up_1' });
    const after = server.log.slice(before).map((l) => `${l.method} ${l.what}`);
    expect(after[0]).toBe('GET /v1/uploads/up_1');
    expect(after.filter((w) => w.startsWith('PUT'))).toEqual([
      'PUT store:up_1/2',
      'PUT store:up_1/3',
      'PUT store:up_1/4',
      'PUT store:up_1/5',
    ]);
    expect(states).toEqual(['uploading', 'paused', 'starting', 'uploading', 'completing', 'done']);
  });

  it('resumeUpload after an app restart sends only the missing parts, progress starting from what the server has', async () => {
    const { server, uploader } = setup();
    const id = server.seed(45, [1, 3]);
    const seen: UploadProgress[] = [];
    const up = uploader.resumeUpload(id, new Blob([bytes(45)]), {
      contentType: 'image/jpeg',
      onProgress: (p) => seen.push(p),
    });
    await expect(up.done).resolves.toEqual({ uploadId: id, mediaId: `m_${id}`, status: 'processing' });
    expect(server.puts()).toEqual([`store:${id}/2`, `store:${id}/4`, `store:${id}/5`]);
    expect(server.log.some((l) => l.what === '/v1/uploads' && l.method === 'POST')).toBe(false);
    expect(seen.map((p) => [p.bytesSent, p.partsDone])).toEqual([
      [20, 2],
      [30, 3],
      [40, 4],
      [45, 5],
    ]);
  });

  it('resumeUpload refuses other bytes than the upload declared, and an aborted upload', async () => {
    const { server, uploader } = setup();
    const id = server.seed(45, []);
    await expect(
      uploader.resumeUpload(id, bytes(44), { contentType: 'image/jpeg' }).done,
    ).rejects.toMatchObject({
      code: 'size_mismatch',
    });
    server.uploads.get(id)!.status = 'aborted';
    await expect(
      uploader.resumeUpload(id, bytes(45), { contentType: 'image/jpeg' }).done,
    ).rejects.toMatchObject({
      code: 'upload_expired',
    });
    await expect(
      uploader.resumeUpload('up_nope', bytes(45), { contentType: 'image/jpeg' }).done,
    ).rejects.toMatchObject({ code: 'upload_not_found' });
  });

  it('cancel aborts the PUT in flight, DELETEs the upload and rejects done with UploadCancelledError', async () => {
    const { server, uploader } = setup();
    server.hold(2);
    const up = uploader.upload(bytes(45), { contentType: 'image/jpeg' });
    await until(() => server.inFlight === 1 && server.puts().length === 2);
    await up.cancel();
    await expect(up.done).rejects.toBeInstanceOf(UploadCancelledError);
    expect(up.state).toBe('cancelled');
    expect(server.inFlight).toBe(0);
    expect(server.log.at(-1)).toMatchObject({ method: 'DELETE', what: '/v1/uploads/up_1' });
    expect(server.uploads.get('up_1')?.status).toBe('aborted');
  });

  it('an aborted signal cancels, even while the create is in flight (what it created is deleted)', async () => {
    const { server, uploader } = setup();
    const ctrl = new AbortController();
    const up = uploader.upload(bytes(45), { contentType: 'image/jpeg', signal: ctrl.signal });
    ctrl.abort();
    await expect(up.done).rejects.toBeInstanceOf(UploadCancelledError);
    await until(() => server.uploads.get('up_1')?.status === 'aborted', 3000, 'the DELETE');
    expect(server.puts()).toEqual([]);
  });

  it('resuming a paused single PUT asks for a fresh URL and sends the whole file again', async () => {
    const { server, uploader } = setup();
    server.hold(0);
    const up = uploader.upload(bytes(20), { contentType: 'image/png' });
    await until(() => server.inFlight === 1);
    up.pause();
    await until(() => server.inFlight === 0);
    server.release(0);
    up.resume();
    await expect(up.done).resolves.toMatchObject({ mediaId: 'm_up_1' });
    const tail = server.log.slice(2).map((l) => `${l.method} ${l.what}`);
    expect(tail).toEqual([
      'GET /v1/uploads/up_1',
      'POST /v1/uploads/up_1/parts/urls',
      'PUT store:up_1/0',
      'POST /v1/uploads/up_1/complete',
    ]);
  });
});

describe('uploads: resuming a single PUT', () => {
  const calls = (server: ReturnType<typeof setup>['server'], from = 0) =>
    server.log.slice(from).map((l) => `${l.method} ${l.what}`);

  it('resumeUpload whose status says the whole file arrived skips the PUT and completes', async () => {
    const { server, uploader } = setup();
    const id = server.seedSingle(20, 20);
    const seen: UploadProgress[] = [];
    const up = uploader.resumeUpload(id, bytes(20), {
      contentType: 'image/jpeg',
      onProgress: (p) => seen.push(p),
    });
    await expect(up.done).resolves.toEqual({ uploadId: id, mediaId: `m_${id}`, status: 'processing' });
    expect(calls(server)).toEqual([`GET /v1/uploads/${id}`, `POST /v1/uploads/${id}/complete`]);
    expect(seen).toEqual([{ bytesSent: 20, totalBytes: 20, partsDone: 1, partCount: 1 }]);
  });

  it.each([
    ['nothing arrived', null],
    ['a short object is there', 12],
  ])('resumeUpload when %s PUTs the whole file again to a fresh URL', async (_what, stored) => {
    const { server, uploader } = setup();
    const id = server.seedSingle(20, stored);
    await expect(
      uploader.resumeUpload(id, bytes(20), { contentType: 'image/jpeg' }).done,
    ).resolves.toMatchObject({ mediaId: `m_${id}` });
    expect(calls(server)).toEqual([
      `GET /v1/uploads/${id}`,
      `POST /v1/uploads/${id}/parts/urls`,
      `PUT store:${id}/0`,
      `POST /v1/uploads/${id}/complete`,
    ]);
    expect(server.log.find((l) => l.what === `store:${id}/0`)?.bodySize).toBe(20);
  });

  it('a status without `received` (the server could not ask its store) PUTs again', async () => {
    const { server, uploader } = setup();
    server.reportsReceived = false;
    const id = server.seedSingle(20, 20);
    await uploader.resumeUpload(id, bytes(20), { contentType: 'image/jpeg' }).done;
    expect(server.puts()).toEqual([`store:${id}/0`]);
  });

  it('the object gone between status and complete (part_missing): PUT again, then complete', async () => {
    const { server, uploader } = setup();
    const id = server.seedSingle(20, 20);
    const up = uploader.resumeUpload(id, bytes(20), { contentType: 'image/jpeg' });
    up.on('state', (s) => {
      if (s === 'completing' && server.puts().length === 0) server.uploads.get(id)!.stored = null;
    });
    await expect(up.done).resolves.toMatchObject({ mediaId: `m_${id}` });
    expect(calls(server)).toEqual([
      `GET /v1/uploads/${id}`,
      `POST /v1/uploads/${id}/complete`,
      `POST /v1/uploads/${id}/parts/urls`,
      `PUT store:${id}/0`,
      `POST /v1/uploads/${id}/complete`,
    ]);
    expect(up.progress).toEqual({ bytesSent: 20, totalBytes: 20, partsDone: 1, partCount: 1 });
  });

  it('a run paused after its PUT landed skips the PUT on resume()', async () => {
    const { server, uploader } = setup();
    const up = uploader.upload(bytes(20), { contentType: 'image/png' });
    const off = up.on('state', (s) => {
      if (s !== 'completing') return;
      off();
      up.pause(); // the PUT landed, the complete never leaves
    });
    await until(() => up.state === 'paused' && server.puts().length === 1);
    const before = server.log.length;
    up.resume();
    await expect(up.done).resolves.toMatchObject({ mediaId: 'm_up_1' });
    expect(server.puts()).toHaveLength(1);
    expect(calls(server, before)).toEqual(['GET /v1/uploads/up_1', 'POST /v1/uploads/up_1/complete']);
  });
});
