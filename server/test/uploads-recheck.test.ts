import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../src/adapters/local-blob-store.js';
import type { BlobStore } from '../src/blobs/blob-store.js';
import { mediaSettings } from '../src/config/media.js';
import { parseSettings } from '../src/config/settings.js';
import { RECHECK_MARGIN_MS } from '../src/media/uploads/complete.js';
import { UploadRepo, type UploadView } from '../src/media/uploads/index.js';
import type { Sql } from '../src/sql/index.js';
import { startS3rver } from './s3rver.js';
import { client, startUploadNode, type UploadNode, uploadSchema } from './upload-harness.js';

// Issue 7, item 4: a single PUT's presigned URL still takes bytes after its
// upload completed (S3 cannot revoke it). Processing moves the original to a
// content-addressed key (media-originals.test.ts); what is PUT afterwards
// lands on the upload's key, which the sweeper deletes once more when every
// URL of the upload has expired, unless the media still reads that key.

const media = parseSettings(mediaSettings, {}).values;
/** Past the last URL's expiry, as the sweeper waits for. */
const URLS_EXPIRED_MS = media.presignExpirySeconds * 1000 + RECHECK_MARGIN_MS + 1000;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let dir: string;
let s3: Awaited<ReturnType<typeof startS3rver>>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shutter-recheck-'));
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

describe.each(['local', 's3'] as const)('a completed single PUT on the %s store', (kind) => {
  let db: { sql: Sql; drop(): Promise<void> };
  let store: BlobStore;
  let node: UploadNode;
  let repo: UploadRepo;
  let clock = Date.now();
  beforeAll(async () => {
    db = await uploadSchema();
    repo = new UploadRepo(db.sql);
    store =
      kind === 'local'
        ? new LocalBlobStore({ root: join(dir, 'media'), signingSecret: 's'.repeat(32) })
        : s3.store();
    node = await startUploadNode({
      sql: db.sql,
      store,
      now: () => clock,
      limits: { partBytes: 5 * 1024 * 1024 },
    });
  });
  afterAll(async () => {
    await node.close();
    await db.drop();
  });

  /** Create, PUT, complete as `user`; answers the ids, the URL and the upload's key. */
  const completed = async (user: string, bytes: Buffer) => {
    const c = client(node.origin, user);
    const created = await c.call<{
      upload: UploadView;
      put: { url: string; headers: Record<string, string> };
    }>('POST', '/v1/uploads', { size: bytes.length, contentType: 'image/jpeg' });
    expect(created.status).toBe(201);
    const { put } = created.body;
    const send = (b: Buffer) =>
      fetch(put.url, { method: 'PUT', headers: put.headers, body: new Uint8Array(b) });
    expect((await send(bytes)).status).toBe(200);
    const uploadId = created.body.upload.uploadId;
    const done = await c.call<{ media: { mediaId: string } }>('POST', `/v1/uploads/${uploadId}/complete`);
    expect(done.status).toBe(200);
    return { uploadId, mediaId: done.body.media.mediaId, send, key: `uploads/${user}/${uploadId}` };
  };

  it('bytes PUT to the URL after completion are deleted by the sweeper once every URL of the upload has expired', async () => {
    const bytes = randomBytes(8192);
    const up = await completed(`u_${randomBytes(4).toString('hex')}`, bytes);
    // Processing moved the original to its content-addressed key and deleted the upload's.
    node.ingest.states.set(up.mediaId, { status: 'ready', originalKey: `originals/${sha(bytes)}` });
    await store.delete(up.key);

    // The URL still takes bytes (S3 cannot revoke a presigned URL).
    expect((await up.send(randomBytes(bytes.length))).status).toBe(200);
    expect(await store.head(up.key)).toBeDefined();
    await node.uploads.sweeper.sweepOnce();
    expect(await store.head(up.key)).toBeDefined(); // not before the URL expired: it could be used again

    clock += URLS_EXPIRED_MS;
    expect((await node.uploads.sweeper.sweepOnce()).rechecked).toBe(1);
    expect(await store.head(up.key)).toBeUndefined();
    expect((await repo.get(up.uploadId))?.recheckAt).toBeNull();
    expect((await node.uploads.sweeper.sweepOnce()).rechecked).toBe(0);
  });

  it('keeps the key while the media reads it: asked again later while processing, kept for good once the media failed', async () => {
    const bytes = randomBytes(8192);
    const up = await completed(`u_${randomBytes(4).toString('hex')}`, bytes);
    clock += URLS_EXPIRED_MS;
    // FakeIngest: the media is processing and reads the upload's key.
    expect((await node.uploads.sweeper.sweepOnce()).rechecked).toBe(1);
    expect(await store.head(up.key)).toMatchObject({ size: bytes.length });
    expect((await repo.get(up.uploadId))?.recheckAt?.getTime()).toBe(clock + media.sweepIntervalMs);

    node.ingest.states.set(up.mediaId, { status: 'failed', originalKey: up.key });
    clock += media.sweepIntervalMs + 1;
    expect((await node.uploads.sweeper.sweepOnce()).rechecked).toBe(1);
    expect(await store.head(up.key)).toMatchObject({ size: bytes.length });
    expect((await repo.get(up.uploadId))?.recheckAt).toBeNull();
  });

  it("a completed multipart upload's part URLs change nothing: the store's upload id is gone with the join", async () => {
    const user = `u_${randomBytes(4).toString('hex')}`;
    const c = client(node.origin, user);
    const file = randomBytes(5 * 1024 * 1024 + 4096);
    const created = await c.call<{ upload: UploadView }>('POST', '/v1/uploads', {
      size: file.length,
      contentType: 'image/jpeg',
      mode: 'multipart',
    });
    const { uploadId, partSize = 0 } = created.body.upload;
    const urls = await c.call<{
      parts: { partNumber: number; url: string; headers: Record<string, string> }[];
    }>('POST', `/v1/uploads/${uploadId}/parts/urls`, { parts: [1, 2] });
    for (const p of urls.body.parts) {
      const body = file.subarray((p.partNumber - 1) * partSize, p.partNumber * partSize);
      const r = await fetch(p.url, { method: 'PUT', headers: p.headers, body: new Uint8Array(body) });
      expect(r.status).toBe(200);
      const etag = r.headers.get('etag') ?? '';
      expect((await c.call('POST', `/v1/uploads/${uploadId}/parts/${p.partNumber}`, { etag })).status).toBe(
        200,
      );
    }
    expect((await c.call('POST', `/v1/uploads/${uploadId}/complete`)).status).toBe(200);
    expect((await repo.get(uploadId))?.recheckAt).toBeNull();

    const last = urls.body.parts[1]!;
    const late = await fetch(last.url, {
      method: 'PUT',
      headers: last.headers,
      body: new Uint8Array(randomBytes(file.length - partSize)),
    });
    // The local store refuses it (404); s3rver answers 200 and keeps the part
    // aside (AWS answers 404 NoSuchUpload). Either way the object is as joined.
    expect(late.status).toBe(kind === 'local' ? 404 : 200);
    const obj = await store.get(`uploads/${user}/${uploadId}`);
    const chunks: Uint8Array[] = [];
    for await (const b of obj.body) chunks.push(b);
    expect(sha(Buffer.concat(chunks))).toBe(sha(file));
  });

  it('a streamed upload, which has no URL, is never rechecked', async () => {
    const user = `u_${randomBytes(4).toString('hex')}`;
    const r = await client(node.origin, user).put('/v1/uploads/stream', randomBytes(4096), {
      'content-type': 'image/png',
    });
    expect(r.status).toBe(201);
    const { upload } = (await r.json()) as { upload: UploadView };
    expect((await repo.get(upload.uploadId))?.recheckAt).toBeNull();
  });
});
