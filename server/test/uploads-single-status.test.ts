import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUploader, type FetchLike } from '@shutter/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../src/adapters/local-blob-store.js';
import type { BlobStore } from '../src/blobs/blob-store.js';
import type { UploadView } from '../src/media/uploads/index.js';
import type { Sql } from '../src/sql/index.js';
import { startS3rver } from './s3rver.js';
import { client, startUploadNode, type UploadNode, uploadSchema } from './upload-harness.js';

// GET /v1/uploads/:id of a pending single-PUT upload says what the store
// holds at the upload URL (`received`), so a client that lost its connection
// knows whether to PUT again or just complete.

interface Created {
  upload: UploadView;
  put: { url: string; headers: Record<string, string> };
}

let db: { sql: Sql; drop(): Promise<void> };
let dir: string;
let s3: Awaited<ReturnType<typeof startS3rver>>;
const stores = new Map<'local' | 's3', BlobStore>();
const user = () => `s_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  db = await uploadSchema();
  dir = await mkdtemp(join(tmpdir(), 'shutter-single-status-'));
  s3 = await startS3rver();
  stores.set('local', new LocalBlobStore({ root: join(dir, 'media'), signingSecret: 's'.repeat(32) }));
  stores.set('s3', s3.store());
});

afterAll(async () => {
  await db.drop();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

describe.each(['local', 's3'] as const)('single-PUT status on the %s store', (name) => {
  let node: UploadNode;
  beforeAll(async () => {
    node = await startUploadNode({ sql: db.sql, store: stores.get(name)! });
  });
  afterAll(() => node.close());

  const create = async (c: ReturnType<typeof client>, size: number) => {
    const r = await c.call<Created>('POST', '/v1/uploads', { size, contentType: 'image/jpeg' });
    expect(r.status).toBe(201);
    expect(r.body.upload.mode).toBe('single');
    return r.body;
  };
  const status = async (c: ReturnType<typeof client>, id: string) => {
    const r = await c.call<UploadView>('GET', `/v1/uploads/${id}`);
    expect(r.status).toBe(200);
    return r.body;
  };

  it('says nothing arrived before the PUT and the byte count after it; completed uploads leave it out', async () => {
    const c = client(node.origin, user());
    const { upload, put } = await create(c, 1000);
    const id = upload.uploadId;
    expect(upload).not.toHaveProperty('received');
    expect(await status(c, id)).toMatchObject({ status: 'pending', size: 1000, received: null });

    const r = await fetch(put.url, { method: 'PUT', headers: put.headers, body: randomBytes(1000) });
    expect(r.status).toBe(200);
    expect(await status(c, id)).toMatchObject({ status: 'pending', received: { size: 1000 } });

    // A client that lost the PUT's answer sees the bytes arrived and only completes.
    expect((await c.call('POST', `/v1/uploads/${id}/complete`)).status).toBe(200);
    const done = await status(c, id);
    expect(done.status).toBe('completed');
    expect(done).not.toHaveProperty('received');
  });

  it('a truncated body: the local store refuses it; s3rver stores it and the status reports its size', async () => {
    const c = client(node.origin, user());
    const { upload, put } = await create(c, 1000);
    const id = upload.uploadId;
    // fetch sets Content-Length from the body: 999, not the signed 1000.
    const short = await fetch(put.url, {
      method: 'PUT',
      headers: { 'content-type': put.headers['content-type']! },
      body: randomBytes(999),
    });
    if (name === 'local') {
      expect(short.status).toBe(400);
      expect(await short.json()).toMatchObject({ error: { code: 'size_mismatch' } });
      expect((await status(c, id)).received).toBeNull();
    } else {
      // s3rver does not verify signatures, so the signed length is not
      // enforced (S3 answers 403): the short object is there, and said so.
      expect(short.status).toBe(200);
      expect((await status(c, id)).received).toEqual({ size: 999 });
      // Complete checks the size (unchanged): it deletes the short object and the upload stays open.
      const bad = await c.call('POST', `/v1/uploads/${id}/complete`);
      expect(bad.body).toMatchObject({ error: { code: 'size_mismatch', details: { received: 999 } } });
      expect(await status(c, id)).toMatchObject({ status: 'pending', received: null });
    }
    const whole = await fetch(put.url, { method: 'PUT', headers: put.headers, body: randomBytes(1000) });
    expect(whole.status).toBe(200);
    expect((await status(c, id)).received).toEqual({ size: 1000 });
    expect((await c.call('POST', `/v1/uploads/${id}/complete`)).status).toBe(200);
  });

  it('a PUT whose connection drops mid-body: the status says what the store kept', async () => {
    const u = user();
    const c = client(node.origin, u);
    const { upload, put } = await create(c, 64 * 1024);
    const id = upload.uploadId;
    const ac = new AbortController();
    const dropping = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(randomBytes(16 * 1024));
        setTimeout(() => ac.abort(), 100);
      },
    });
    await expect(
      fetch(put.url, {
        method: 'PUT',
        headers: put.headers,
        body: dropping,
        signal: ac.signal,
        duplex: 'half',
      } as RequestInit),
    ).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 300));
    // The local store writes to a temp file and commits whole objects only;
    // s3rver keeps the bytes it got as the object (AWS S3 stores nothing).
    const kept = name === 'local' ? null : { size: 16 * 1024 };
    expect((await status(c, id)).received).toEqual(kept);
    const held = await stores.get(name)!.head(`uploads/${u}/${id}`);
    expect(held ? { size: held.size } : null).toEqual(kept);

    const whole = await fetch(put.url, { method: 'PUT', headers: put.headers, body: randomBytes(64 * 1024) });
    expect(whole.status).toBe(200);
    expect((await status(c, id)).received).toEqual({ size: 64 * 1024 });
  });

  it('the SDK resumeUpload completes without a PUT when the bytes arrived, and PUTs when they did not', async () => {
    const u = user();
    const c = client(node.origin, u);
    const methods: string[] = [];
    const logging: FetchLike = (url, init) => {
      methods.push(`${init.method ?? 'GET'} ${new URL(url).pathname.startsWith('/v1/') ? 'api' : 'store'}`);
      return fetch(url, init);
    };
    const uploader = createUploader({ baseUrl: node.origin, getToken: async () => u, fetch: logging });
    const file = randomBytes(1000);

    const landed = await create(c, file.length);
    await fetch(landed.put.url, { method: 'PUT', headers: landed.put.headers, body: file });
    const first = uploader.resumeUpload(landed.upload.uploadId, file, { contentType: 'image/jpeg' });
    await expect(first.done).resolves.toMatchObject({
      uploadId: landed.upload.uploadId,
      status: 'processing',
    });
    expect(methods).toEqual(['GET api', 'POST api']);

    methods.length = 0;
    const lost = await create(c, file.length);
    const second = uploader.resumeUpload(lost.upload.uploadId, file, { contentType: 'image/jpeg' });
    await expect(second.done).resolves.toMatchObject({ uploadId: lost.upload.uploadId });
    expect(methods).toEqual(['GET api', 'POST api', 'PUT store', 'POST api']);
    expect(node.ingest.calls.at(-1)).toMatchObject({ ownerId: u, size: 1000 });
  });
});

it('when the store cannot be asked, the status answers without `received` (the client PUTs again)', async () => {
  const local = stores.get('local')!;
  let asked = 0;
  const failing = new Proxy(local, {
    get(target, prop, receiver) {
      if (prop === 'head')
        return async () => {
          asked++;
          throw new Error('store down');
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const node = await startUploadNode({ sql: db.sql, store: failing });
  try {
    const c = client(node.origin, user());
    const created = await c.call<Created>('POST', '/v1/uploads', { size: 10, contentType: 'image/png' });
    const st = await c.call<UploadView>('GET', `/v1/uploads/${created.body.upload.uploadId}`);
    expect(st.status).toBe(200);
    expect(st.body).toMatchObject({ status: 'pending', mode: 'single', size: 10 });
    expect(st.body).not.toHaveProperty('received');
    expect(asked).toBe(1);
  } finally {
    await node.close();
  }
});
