import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../src/adapters/local-blob-store.js';
import type { BlobStore } from '../src/blobs/blob-store.js';
import { UploadRepo, type UploadView } from '../src/media/uploads/index.js';
import type { Sql } from '../src/sql/index.js';
import { startS3rver } from './s3rver.js';
import {
  client,
  type Recorded,
  recording,
  startUploadNode,
  type UploadNode,
  uploadSchema,
} from './upload-harness.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

interface Adapter {
  name: 'local' | 's3';
  store: BlobStore;
  calls: Recorded[];
  /** Files the local store holds for multipart uploads and temp writes (local only). */
  leftovers?: () => Promise<string[]>;
}

let db: { sql: Sql; drop(): Promise<void> };
let dir: string;
let s3: Awaited<ReturnType<typeof startS3rver>>;
const adapters: Adapter[] = [];

beforeAll(async () => {
  db = await uploadSchema();
  dir = await mkdtemp(join(tmpdir(), 'shutter-uploads-'));
  s3 = await startS3rver();
  const local = recording(new LocalBlobStore({ root: join(dir, 'media'), signingSecret: 's'.repeat(32) }));
  const root = join(dir, 'media');
  const list = async (d: string) => (await readdir(join(root, d)).catch(() => [])).map((f) => `${d}/${f}`);
  adapters.push({
    name: 'local',
    ...local,
    leftovers: async () => [...(await list('multipart')), ...(await list('tmp'))],
  });
  adapters.push({ name: 's3', ...recording(s3.store()) });
});

afterAll(async () => {
  await db.drop();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

describe.each(['local', 's3'] as const)('uploads on the %s store', (name) => {
  let a: Adapter;
  let node: UploadNode;
  let clock = Date.now();
  beforeAll(async () => {
    a = adapters.find((x) => x.name === name)!;
    node = await startUploadNode({
      sql: db.sql,
      store: a.store,
      limits: { partBytes: 5 * MiB },
      now: () => clock,
    });
  });
  afterAll(() => node.close());

  it("a multipart upload interrupted after half its parts resumes from the server's part list and completes", async () => {
    const user = `u_${randomBytes(4).toString('hex')}`;
    const file = randomBytes(3 * 5 * MiB + MiB);
    const c = client(node.origin, user);
    const created = await c.call<{ upload: UploadView }>('POST', '/v1/uploads', {
      size: file.length,
      contentType: 'image/jpeg',
      mode: 'multipart',
    });
    expect(created.status).toBe(201);
    const { uploadId, partSize, partCount } = created.body.upload;
    expect([created.body.upload.mode, partSize, partCount]).toEqual(['multipart', 5 * MiB, 4]);
    const part = (n: number) => file.subarray((n - 1) * 5 * MiB, Math.min(file.length, n * 5 * MiB));

    // Part 1 straight to the store with a presigned URL, reported with its ETag; part 2 through the node.
    const urls = await c.call<{ parts: { url: string; headers: Record<string, string> }[] }>(
      'POST',
      `/v1/uploads/${uploadId}/parts/urls`,
      { parts: [1] },
    );
    const u1 = urls.body.parts[0]!;
    const put1 = await fetch(u1.url, { method: 'PUT', headers: u1.headers, body: part(1) });
    expect(put1.status).toBe(200);
    expect(
      (await c.call('POST', `/v1/uploads/${uploadId}/parts/1`, { etag: put1.headers.get('etag') })).status,
    ).toBe(200);
    expect((await c.put(`/v1/uploads/${uploadId}/parts/2`, part(2))).status).toBe(200);

    // The connection drops in the middle of part 3: it is not recorded.
    const ac = new AbortController();
    const dropping = new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(part(3).subarray(0, MiB));
        setTimeout(() => ac.abort(), 100);
      },
    });
    await expect(
      fetch(`${node.origin}/v1/uploads/${uploadId}/parts/3`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${user}`, 'content-length': String(5 * MiB) },
        body: dropping,
        signal: ac.signal,
        duplex: 'half',
      } as RequestInit),
    ).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 200));
    const early = await c.call('POST', `/v1/uploads/${uploadId}/complete`);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ error: { code: 'part_missing', details: { missing: [3, 4] } } });

    // A new session that only kept the upload id asks what the server has and sends the rest.
    const again = client(node.origin, user);
    const st = await again.call<UploadView>('GET', `/v1/uploads/${uploadId}`);
    expect(st.body).toMatchObject({ status: 'pending', missing: [3, 4] });
    expect(st.body.parts?.map((p) => p.partNumber)).toEqual([1, 2]);
    expect((await again.put(`/v1/uploads/${uploadId}/parts/3`, part(3))).status).toBe(200);
    const u4 = (
      await again.call<{ parts: { url: string; headers: Record<string, string> }[] }>(
        'POST',
        `/v1/uploads/${uploadId}/parts/urls`,
        { parts: [4] },
      )
    ).body.parts[0]!;
    expect(u4.headers['content-length']).toBe(String(MiB));
    const put4 = await fetch(u4.url, { method: 'PUT', headers: u4.headers, body: part(4) });
    await again.call('POST', `/v1/uploads/${uploadId}/parts/4`, { etag: put4.headers.get('etag') });

    const done = await again.call<{ upload: UploadView; media: { mediaId: string; status: string } }>(
      'POST',
      `/v1/uploads/${uploadId}/complete`,
    );
    expect(done.status).toBe(200);
    expect(done.body.upload.status).toBe('completed');
    const ingested = node.ingest.calls.at(-1)!;
    expect(ingested).toMatchObject({ ownerId: user, size: file.length, declaredType: 'image/jpeg' });
    const obj = await a.store.get(ingested.objectKey);
    const h = createHash('sha256');
    for await (const chunk of obj.body) h.update(chunk);
    expect(h.digest('hex')).toBe(sha(file));
    // Completing again answers the same media (a retry after a lost answer).
    const twice = await again.call<{ media: { mediaId: string } }>(
      'POST',
      `/v1/uploads/${uploadId}/complete`,
    );
    expect(twice.body.media.mediaId).toBe(done.body.media.mediaId);
    if (a.leftovers) expect(await a.leftovers()).toEqual([]);
  });

  it('an aborted multipart upload leaves nothing behind (local) / issues the abort (s3)', async () => {
    const c = client(node.origin, `u_${randomBytes(4).toString('hex')}`);
    const { uploadId } = (
      await c.call<{ upload: UploadView }>('POST', '/v1/uploads', {
        size: 6 * MiB,
        contentType: 'image/png',
        mode: 'multipart',
      })
    ).body.upload;
    expect((await c.put(`/v1/uploads/${uploadId}/parts/1`, randomBytes(5 * MiB))).status).toBe(200);
    a.calls.length = 0;
    const aborted = await c.call<UploadView>('DELETE', `/v1/uploads/${uploadId}`);
    expect(aborted.body.status).toBe('aborted');
    expect((await c.call('DELETE', `/v1/uploads/${uploadId}`)).status).toBe(200);
    expect((await c.call('POST', `/v1/uploads/${uploadId}/complete`)).body).toMatchObject({
      error: { code: 'upload_expired' },
    });
    expect((await c.put(`/v1/uploads/${uploadId}/parts/2`, randomBytes(MiB))).status).toBe(410);
    const abortCall = a.calls.find((x) => x.method === 'abortMultipart');
    expect(abortCall).toBeDefined();
    if (a.leftovers) {
      expect(abortCall?.ok).toBe(true);
      expect(await a.leftovers()).toEqual([]);
    } else {
      // s3rver answers AbortMultipartUpload with 405: that the parts are
      // deleted cannot be shown here. The record stays flagged for cleanup,
      // which the sweeper retries (then the bucket lifecycle rule takes over).
      expect(
        (abortCall?.error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
          ?.httpStatusCode,
      ).toBe(405);
      expect(await new UploadRepo(db.sql).get(uploadId)).toMatchObject({
        status: 'aborted',
        cleanupPending: true,
      });
    }
  });

  it('the sweeper aborts an upload abandoned past its expiry and deletes its bytes', async () => {
    const c = client(node.origin, `u_${randomBytes(4).toString('hex')}`);
    const { uploadId } = (
      await c.call<{ upload: UploadView }>('POST', '/v1/uploads', {
        size: 6 * MiB,
        contentType: 'image/png',
        mode: 'multipart',
      })
    ).body.upload;
    expect((await c.put(`/v1/uploads/${uploadId}/parts/1`, randomBytes(5 * MiB))).status).toBe(200);
    a.calls.length = 0;
    clock += 86_400_000 + 1000;
    const swept = await node.uploads.sweeper.sweepOnce();
    expect(swept.expired).toBeGreaterThanOrEqual(1);
    expect((await c.call<UploadView>('GET', `/v1/uploads/${uploadId}`)).body.status).toBe('expired');
    expect(a.calls.some((x) => x.method === 'abortMultipart')).toBe(true);
    if (a.leftovers) expect(await a.leftovers()).toEqual([]);
    expect((await c.put(`/v1/uploads/${uploadId}/parts/2`, randomBytes(MiB))).status).toBe(410);
  });

  it('streams a body of unknown length through the node, computing its SHA-256', async () => {
    const user = `u_${randomBytes(4).toString('hex')}`;
    const body = randomBytes(3 * MiB + 17);
    const r = await fetch(`${node.origin}/v1/uploads/stream`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${user}`, 'content-type': 'image/webp' },
      body: new Blob([body]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(r.status).toBe(201);
    const out = (await r.json()) as { sha256: string; upload: UploadView; media: { mediaId: string } };
    expect(out.sha256).toBe(sha(body));
    expect(out.upload).toMatchObject({ mode: 'stream', status: 'completed', size: body.length });
    expect(node.ingest.calls.at(-1)).toMatchObject({ ownerId: user, sha256: sha(body), size: body.length });
  });

  it('refuses an expired presigned URL; a fresh one from the API works', async () => {
    const short = await startUploadNode({ sql: db.sql, store: a.store, limits: { presignExpirySeconds: 1 } });
    try {
      const c = client(short.origin, `u_${randomBytes(4).toString('hex')}`);
      const created = await c.call<{
        upload: UploadView;
        put: { url: string; headers: Record<string, string> };
      }>('POST', '/v1/uploads', { size: 1000, contentType: 'image/jpeg' });
      expect(created.body.upload.mode).toBe('single');
      const body = randomBytes(1000);
      await new Promise((r) => setTimeout(r, 2100));
      const late = await fetch(created.body.put.url, {
        method: 'PUT',
        headers: created.body.put.headers,
        body,
      });
      expect(late.status).toBe(403);
      if (name === 'local') expect(await late.json()).toMatchObject({ error: { code: 'url_expired' } });
      const id = created.body.upload.uploadId;
      const fresh = (
        await c.call<{ parts: { url: string; headers: Record<string, string> }[] }>(
          'POST',
          `/v1/uploads/${id}/parts/urls`,
          { parts: [1] },
        )
      ).body.parts[0]!;
      expect((await fetch(fresh.url, { method: 'PUT', headers: fresh.headers, body })).status).toBe(200);
      expect((await c.call('POST', `/v1/uploads/${id}/complete`)).status).toBe(200);
    } finally {
      await short.close();
    }
  });
});
