import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createUploader } from '@shutter/client-sdk';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../src/adapters/local-blob-store.js';
import type { BlobStore } from '../src/blobs/blob-store.js';
import type { ShutterNode } from '../src/node.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';
import { startS3rver } from './s3rver.js';

// Issue 7 (outside audit), items 4–7: originals behind a completed upload's
// presigned URL, dedup across users, stale upload status, concurrent
// identical uploads. A whole node on the local store and on S3 (s3rver).

type Json = Record<string, unknown>;
interface Media {
  id: string;
  ownerId: string;
  status: string;
  sha256: string;
  originalKey: string;
  originalBytes: number;
  failureCode: string | null;
}
interface Put {
  method: 'PUT';
  url: string;
  headers: Record<string, string>;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A JPEG of noise: unique bytes for each call (no dedup with anything else in the run). */
async function photo(width = 640, height = 480): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** The same length, other bytes: what an attacker PUTs to an old URL (bound to the length on S3). */
function tampered(b: Buffer): Buffer {
  const t = Buffer.from(b);
  for (let i = 1000; i < t.length - 1000; i += 97) t[i] = t[i]! ^ 0xff;
  return t;
}

async function readAll(store: BlobStore, key: string): Promise<Buffer> {
  const obj = await store.get(key);
  const chunks: Uint8Array[] = [];
  for await (const c of obj.body) chunks.push(c);
  return Buffer.concat(chunks);
}

describe.each(['local', 's3'] as const)('originals, dedup and upload status on the %s store', (kind) => {
  let node: ShutterNode;
  let store: BlobStore;
  let closeS3: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const env: Record<string, string> = { MEDIA_WORKER_CONCURRENCY: '2' };
    if (kind === 's3') {
      const s3 = await startS3rver();
      closeS3 = s3.close;
      store = s3.store();
      Object.assign(env, {
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_FORCE_PATH_STYLE: 'true',
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
      });
      node = await startTestNode('ws', env);
    } else {
      const { mkdtempSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const dataDir = mkdtempSync(join(tmpdir(), 'shutter-originals-'));
      node = await startTestNode('ws', { ...env, DATA_DIR: dataDir });
      store = new LocalBlobStore({ root: join(dataDir, 'media'), signingSecret: 'x'.repeat(32) });
    }
  });
  afterAll(async () => {
    await node?.shutdown();
    await closeS3?.();
  });

  const api = async (user: string, method: string, path: string, body?: unknown) => {
    const init: RequestInit = {
      method,
      headers: { authorization: `Bearer ${await devToken(node, user)}`, 'content-type': 'application/json' },
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    const r = await fetch(`${node.url}${path}`, init);
    return { status: r.status, body: (await r.json()) as Json };
  };
  const putTo = (put: Put, bytes: Uint8Array) =>
    fetch(put.url, { method: 'PUT', headers: put.headers, body: new Uint8Array(bytes) });

  /** Create + presigned PUT (not yet completed). */
  const prepared = async (user: string, bytes: Buffer, type = 'image/jpeg') => {
    const created = await api(user, 'POST', '/v1/uploads', { size: bytes.length, contentType: type });
    expect(created.status).toBe(201);
    const put = created.body.put as Put;
    expect((await putTo(put, bytes)).status).toBe(200);
    return { uploadId: (created.body.upload as Json).uploadId as string, put };
  };
  const complete = async (user: string, uploadId: string) => {
    const r = await api(user, 'POST', `/v1/uploads/${uploadId}/complete`);
    expect(r.status).toBe(200);
    return r.body as { upload: Json & { media: { id: string; status: string } }; media: Json };
  };
  /** Create, presigned PUT, complete. */
  const presigned = async (user: string, bytes: Buffer, type = 'image/jpeg') => {
    const p = await prepared(user, bytes, type);
    const done = await complete(user, p.uploadId);
    return { ...p, mediaId: done.media.mediaId as string };
  };
  const streamed = async (user: string, bytes: Buffer) => {
    const r = await fetch(`${node.url}/v1/uploads/stream`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${await devToken(node, user)}`, 'content-type': 'image/jpeg' },
      body: new Uint8Array(bytes),
    });
    expect(r.status).toBe(201);
    return (await r.json()) as { upload: Json; media: { mediaId: string; status: string } };
  };
  const settled = async (user: string, mediaId: string): Promise<Media> => {
    const end = Date.now() + 60_000;
    for (;;) {
      const { body } = await api(user, 'GET', `/v1/media/${mediaId}`);
      if (body.status !== 'processing' || Date.now() > end) return body as unknown as Media;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it("a completed upload's presigned URL cannot change the bytes behind its media, nor behind another user's media of the same bytes", async () => {
    const bytes = await photo();
    const a = await presigned('alice', bytes);
    const alice = await settled('alice', a.mediaId);
    expect(alice).toMatchObject({ status: 'ready', sha256: sha(bytes) });
    const b = await presigned('bob', bytes);
    const bob = await settled('bob', b.mediaId);
    expect(bob).toMatchObject({ status: 'ready', sha256: sha(bytes) });

    // Both keep their URLs (S3 cannot revoke one) and use them after completion.
    const evil = tampered(bytes);
    for (const put of [a.put, b.put]) await putTo(put, evil);

    for (const [user, m] of [
      ['alice', alice],
      ['bob', bob],
    ] as const) {
      const now = await settled(user, m.id);
      expect(now.originalKey).toBe(m.originalKey);
      const held = await readAll(store, now.originalKey);
      expect(sha(held)).toBe(now.sha256);
      expect(sha(held)).toBe(sha(bytes));
      expect(now.originalKey.startsWith('uploads/')).toBe(false);
    }
    // Bob's record names nothing of Alice's upload.
    expect(bob.originalKey).not.toContain('alice');
    expect(bob.originalKey).not.toContain(a.uploadId);
  });

  it("another user's upload of the same bytes names nothing of the first uploader and is processed on its own timeline; the same user's is ready at once", async () => {
    const bytes = await photo();
    const first = await streamed('alice', bytes);
    const alice = await settled('alice', first.media.mediaId);
    expect(alice.status).toBe('ready');

    const second = await streamed('bob', bytes);
    expect(second.media.status).toBe('processing');
    const bob = await settled('bob', second.media.mediaId);
    expect(bob).toMatchObject({ status: 'ready', ownerId: 'bob', sha256: sha(bytes) });
    expect(bob.originalKey).not.toContain('alice');
    expect(bob.originalKey).not.toContain(first.upload.uploadId as string);
    expect(sha(await readAll(store, bob.originalKey))).toBe(sha(bytes));

    const again = await streamed('alice', bytes);
    expect(again.media.status).toBe('ready');
    expect(await settled('alice', again.media.mediaId)).toMatchObject({ originalKey: alice.originalKey });
  });

  it("the upload's status, a repeated complete and the SDK's resumeUpload report the media's real state (ready, failed)", async () => {
    const bytes = await photo();
    const up = await presigned('carol', bytes);
    expect((await settled('carol', up.mediaId)).status).toBe('ready');
    const status = await api('carol', 'GET', `/v1/uploads/${up.uploadId}`);
    expect(status.body).toMatchObject({ status: 'completed', media: { id: up.mediaId, status: 'ready' } });
    const again = await complete('carol', up.uploadId);
    expect(again.media).toEqual({ mediaId: up.mediaId, status: 'ready' });
    expect(again.upload.media).toEqual({ id: up.mediaId, status: 'ready' });

    const uploader = createUploader({ url: wsUrl(node), getToken: () => devToken(node, 'carol') });
    const resumed = await uploader.resumeUpload(up.uploadId, new Uint8Array(bytes), {
      contentType: 'image/jpeg',
    }).done;
    expect(resumed).toEqual({ uploadId: up.uploadId, mediaId: up.mediaId, status: 'ready' });

    const text = Buffer.from('not a photo, only text declared as a JPEG '.repeat(40));
    const bad = await presigned('carol', text);
    expect(await settled('carol', bad.mediaId)).toMatchObject({
      status: 'failed',
      failureCode: 'unsupported_media_type',
    });
    const badStatus = await api('carol', 'GET', `/v1/uploads/${bad.uploadId}`);
    expect(badStatus.body).toMatchObject({ media: { id: bad.mediaId, status: 'failed' } });
    expect((await complete('carol', bad.uploadId)).media).toEqual({ mediaId: bad.mediaId, status: 'failed' });
  });

  it('two concurrent uploads of the same new bytes keep one original', async () => {
    const bytes = await photo(2400, 1800);
    const [p, q] = await Promise.all([prepared('dave', bytes), prepared('dave', bytes)]);
    const [x, y] = await Promise.all([complete('dave', p.uploadId), complete('dave', q.uploadId)]);
    expect(x.media.status).toBe('processing');
    expect(y.media.status).toBe('processing');
    const [mx, my] = await Promise.all([
      settled('dave', x.media.mediaId as string),
      settled('dave', y.media.mediaId as string),
    ]);
    expect(mx).toMatchObject({ status: 'ready', sha256: sha(bytes) });
    expect(my).toMatchObject({ status: 'ready', sha256: sha(bytes) });
    expect(my.originalKey).toBe(mx.originalKey);
    expect(sha(await readAll(store, mx.originalKey))).toBe(sha(bytes));
    // Neither upload's own copy is left behind.
    for (const id of [p.uploadId, q.uploadId]) expect(await store.head(`uploads/dave/${id}`)).toBeUndefined();
  });
});
