import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalBlobStore } from '../src/adapters/local-blob-store.js';
import type { UploadView } from '../src/media/uploads/index.js';
import type { Sql } from '../src/sql/index.js';
import { client, startUploadNode, type UploadNode, uploadSchema } from './upload-harness.js';

const MiB = 1024 * 1024;
let db: { sql: Sql; drop(): Promise<void> };
let dir: string;
let node: UploadNode;
const user = () => `q_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  db = await uploadSchema();
  dir = await mkdtemp(join(tmpdir(), 'shutter-limits-'));
  const store = new LocalBlobStore({ root: join(dir, 'media'), signingSecret: 's'.repeat(32) });
  node = await startUploadNode({
    sql: db.sql,
    store,
    limits: {
      maxUploadBytes: 10 * MiB,
      singlePutMaxBytes: MiB,
      partBytes: 5 * MiB,
      quotaInFlightUploads: 2,
      quotaInFlightBytes: 7 * MiB,
      quotaDailyBytes: 9 * MiB,
    },
  });
});

afterAll(async () => {
  await node.close();
  await db.drop();
  await rm(dir, { recursive: true, force: true });
});

const create = (u: string, body: unknown) => client(node.origin, u).call('POST', '/v1/uploads', body);
const stream = (u: string, body: Uint8Array<ArrayBuffer>, type = 'image/jpeg') =>
  fetch(`${node.origin}/v1/uploads/stream`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${u}`, 'content-type': type },
    body,
  });

it('quota: uploads and bytes in flight per user, with quota_exceeded (429) naming the limit', async () => {
  const u = user();
  expect((await create(u, { size: 4 * MiB, contentType: 'image/jpeg' })).status).toBe(201);
  const bytes = await create(u, { size: 4 * MiB, contentType: 'image/jpeg' });
  expect(bytes.status).toBe(429);
  expect(bytes.body).toMatchObject({
    error: { code: 'quota_exceeded', details: { limit: 'in_flight_bytes', allowed: 7 * MiB, used: 4 * MiB } },
  });
  const second = await create(u, { size: 3 * MiB, contentType: 'image/jpeg' });
  expect(second.status).toBe(201);
  const count = await create(u, { size: 10, contentType: 'image/jpeg' });
  expect(count.body).toMatchObject({
    error: { code: 'quota_exceeded', details: { limit: 'in_flight_uploads' } },
  });
  // Aborting gives the quota back; another user is not affected.
  const id = (second.body.upload as UploadView).uploadId;
  await client(node.origin, u).call('DELETE', `/v1/uploads/${id}`);
  expect((await create(u, { size: 10, contentType: 'image/jpeg' })).status).toBe(201);
  expect((await create(user(), { size: 2 * MiB, contentType: 'image/jpeg' })).status).toBe(201);
});

it('quota: bytes per 24 hours, with Retry-After', async () => {
  const u = user();
  expect((await stream(u, randomBytes(5 * MiB))).status).toBe(201);
  const r = await stream(u, randomBytes(5 * MiB));
  expect(r.status).toBe(429);
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(86_000);
  expect(await r.json()).toMatchObject({
    error: { code: 'quota_exceeded', details: { limit: 'daily_bytes', used: 5 * MiB } },
  });
});

it('size limits: payload_too_large (413) before any byte is stored', async () => {
  const u = user();
  const big = await create(u, { size: 11 * MiB, contentType: 'image/jpeg' });
  expect(big.status).toBe(413);
  expect(big.body).toMatchObject({ error: { code: 'payload_too_large', details: { maxBytes: 10 * MiB } } });
  const single = await create(u, { size: 2 * MiB, contentType: 'image/jpeg', mode: 'single' });
  expect(single.body).toMatchObject({ error: { code: 'payload_too_large', details: { maxBytes: MiB } } });
  const streamed = await stream(u, randomBytes(11 * MiB));
  expect(streamed.status).toBe(413);
  // Nothing counted against the user: a full-size upload still fits.
  expect((await create(u, { size: 3 * MiB, contentType: 'image/jpeg' })).status).toBe(201);
});

it('unsupported declared types: unsupported_media_type (415)', async () => {
  const u = user();
  const heic = await create(u, { size: 100, contentType: 'image/heic' });
  expect(heic.status).toBe(415);
  expect(heic.body).toMatchObject({
    error: { code: 'unsupported_media_type', details: { accepted: expect.arrayContaining(['image/jpeg']) } },
  });
  expect((await stream(u, randomBytes(100), 'text/html')).status).toBe(415);
});

it('bad input gets a clear code and loses nothing', async () => {
  const u = user();
  const c = client(node.origin, u);
  expect((await fetch(`${node.origin}/v1/uploads`, { method: 'POST', body: '{}' })).status).toBe(401);
  expect((await c.call('POST', '/v1/uploads', { size: -1, contentType: 'image/jpeg' })).body).toMatchObject({
    error: { code: 'bad_request' },
  });
  expect(
    (await c.call('POST', '/v1/uploads', { size: 5, contentType: 'image/jpeg', mode: 'weird' })).status,
  ).toBe(400);
  const r = await fetch(`${node.origin}/v1/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${u}` },
    body: 'not json',
  });
  expect(r.status).toBe(400);

  const created = await c.call<{ upload: UploadView }>('POST', '/v1/uploads', {
    size: 6 * MiB,
    contentType: 'image/png',
  });
  const id = created.body.upload.uploadId;
  expect((await client(node.origin, user()).call('GET', `/v1/uploads/${id}`)).body).toMatchObject({
    error: { code: 'upload_not_found' },
  });
  expect((await c.call('GET', '/v1/uploads/up_nope')).status).toBe(404);
  const wrongSize = await c.put(`/v1/uploads/${id}/parts/2`, randomBytes(100));
  expect(wrongSize.status).toBe(400);
  expect(await wrongSize.json()).toMatchObject({
    error: { code: 'size_mismatch', details: { expected: MiB, received: 100 } },
  });
  expect((await c.put(`/v1/uploads/${id}/parts/3`, randomBytes(10))).status).toBe(400);
  expect((await c.call('POST', `/v1/uploads/${id}/parts/1`, { etag: '../../x' })).status).toBe(400);
  const early = await c.call('POST', `/v1/uploads/${id}/complete`);
  expect(early.body).toMatchObject({ error: { code: 'part_missing', details: { missing: [1, 2] } } });
  // After all that the upload is intact and completes.
  expect((await c.put(`/v1/uploads/${id}/parts/1`, randomBytes(5 * MiB))).status).toBe(200);
  expect((await c.put(`/v1/uploads/${id}/parts/2`, randomBytes(MiB))).status).toBe(200);
  expect((await c.call('POST', `/v1/uploads/${id}/complete`)).status).toBe(200);
});

it('a presigned single PUT is bound to its size and type', async () => {
  const c = client(node.origin, user());
  const created = await c.call<{ upload: UploadView; put: { url: string; headers: Record<string, string> } }>(
    'POST',
    '/v1/uploads',
    { size: 1000, contentType: 'image/png' },
  );
  const { url, headers } = created.body.put;
  const short = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'image/png' },
    body: randomBytes(999),
  });
  expect(await short.json()).toMatchObject({ error: { code: 'size_mismatch' } });
  const typed = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'text/html' },
    body: randomBytes(1000),
  });
  expect(typed.status).toBe(403);
  const tampered = await fetch(url.replace('X-Shutter-Length=1000', 'X-Shutter-Length=999'), {
    method: 'PUT',
    headers: { 'content-type': 'image/png' },
    body: randomBytes(999),
  });
  expect(await tampered.json()).toMatchObject({ error: { code: 'forbidden' } });
  const early = await c.call('POST', `/v1/uploads/${created.body.upload.uploadId}/complete`);
  expect(early.body).toMatchObject({ error: { code: 'part_missing' } });
  expect((await fetch(url, { method: 'PUT', headers, body: randomBytes(1000) })).status).toBe(200);
  expect((await c.call('POST', `/v1/uploads/${created.body.upload.uploadId}/complete`)).status).toBe(200);
});
