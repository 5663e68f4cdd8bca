import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BlobStore } from './blob-store.js';

export interface BlobStoreContractTarget {
  store: BlobStore;
  /** Turns a presigned URL into one `fetch` can reach (a local store's URLs may be path-only). */
  resolveUrl(url: string): string;
  /** A key prefix unique to this run. */
  prefix: string;
}

export interface BlobStoreContractOptions {
  setup(): Promise<BlobStoreContractTarget>;
  /** What the backend cannot show, each with the reason: the test is skipped and says why. */
  cannot?: { enforcePresignedBinding?: string; checkPartEtags?: string; abortMultipart?: string };
}

const MiB = 1024 * 1024;

/** The contract every `BlobStore` adapter passes (see the port's comment). */
export function blobStoreContract(name: string, opts: BlobStoreContractOptions): void {
  const cannot = opts.cannot ?? {};
  const skipped = (reason: string | undefined, title: string) =>
    reason ? `${title} — not shown: ${reason}` : title;

  describe(`BlobStore contract: ${name}`, () => {
    let n = 0;
    const target = async () => {
      const t = await opts.setup();
      return { ...t, key: (s: string) => `${t.prefix}/${s}-${++n}` };
    };

    it('put and get round-trip bytes, type and size; head agrees; equal bytes give equal ETags', async () => {
      const { store, key } = await target();
      const k = key('a.jpg');
      const bytes = randomBytes(3000);
      const info = await store.put(k, bytes, { contentType: 'image/jpeg', size: bytes.length });
      expect(info).toMatchObject({ key: k, size: 3000, contentType: 'image/jpeg' });
      expect(info.etag).toMatch(/^[^"]+$/);
      const got = await store.get(k);
      expect(got).toMatchObject({ size: 3000, contentType: 'image/jpeg', etag: info.etag });
      expect(await drain(got.body)).toEqual(bytes);
      expect(await store.head(k)).toMatchObject({ size: 3000, etag: info.etag, contentType: 'image/jpeg' });
      expect((await store.put(key('b'), bytes, { contentType: 'image/jpeg' })).etag).toBe(info.etag);
      const other = await store.put(k, Buffer.from('new'), { contentType: 'text/plain' });
      expect(other.etag).not.toBe(info.etag);
      expect((await drain((await store.get(k)).body)).toString()).toBe('new');
    });

    it('streams a 12 MiB body of unknown and of known length', async () => {
      const { store, key } = await target();
      for (const size of [undefined, 12 * MiB]) {
        const k = key('big');
        const sent = createHash('sha256');
        const info = await store.put(k, generate(12 * MiB, sent), {
          contentType: 'image/png',
          ...(size ? { size } : {}),
        });
        expect(info.size).toBe(12 * MiB);
        expect(await sha256((await store.get(k)).body)).toBe(sent.digest('hex'));
      }
    });

    it('get serves inclusive ranges, clamps the end, refuses a start past the end', async () => {
      const { store, key } = await target();
      const k = key('r');
      await store.put(k, Buffer.from('0123456789'), { contentType: 'text/plain' });
      const r = await store.get(k, { start: 2, end: 5 });
      expect(r.range).toEqual({ start: 2, end: 5 });
      expect(r.size).toBe(10);
      expect((await drain(r.body)).toString()).toBe('2345');
      const tail = await store.get(k, { start: 7, end: 100 });
      expect((await drain(tail.body)).toString()).toBe('789');
      await expect(store.get(k, { start: 10, end: 20 })).rejects.toMatchObject({ code: 'bad_request' });
    });

    it('missing keys: get fails not_found, head is undefined, delete succeeds; delete removes', async () => {
      const { store, key } = await target();
      const k = key('gone');
      await expect(store.get(k)).rejects.toMatchObject({ code: 'not_found' });
      expect(await store.head(k)).toBeUndefined();
      await store.delete(k);
      await store.put(k, Buffer.from('x'), { contentType: 'text/plain' });
      await store.delete(k);
      expect(await store.head(k)).toBeUndefined();
    });

    it('refuses invalid keys with bad_request', async () => {
      const { store } = await target();
      for (const k of ['', '/a', 'a/', 'a//b', '../x', 'a/../b', 'a/./b', 'a b', 'a~b', 'x'.repeat(1025)]) {
        await expect(store.put(k, Buffer.from('x'), { contentType: 'text/plain' })).rejects.toMatchObject({
          code: 'bad_request',
        });
        await expect(store.get(k)).rejects.toMatchObject({ code: 'bad_request' });
      }
    });

    it('a put of the wrong size or failing midway stores nothing and keeps the previous object', async () => {
      const { store, key } = await target();
      const k = key('keep');
      await store.put(k, Buffer.from('old'), { contentType: 'text/plain' });
      await expect(
        store.put(k, Buffer.alloc(10), { contentType: 'text/plain', size: 11 }),
      ).rejects.toMatchObject({ code: 'size_mismatch' });
      await expect(
        store.put(k, Buffer.alloc(12), { contentType: 'text/plain', size: 11 }),
      ).rejects.toMatchObject({ code: 'size_mismatch' });
      await expect(store.put(k, failing(MiB), { contentType: 'text/plain', size: 2 * MiB })).rejects.toThrow(
        'boom',
      );
      expect((await drain((await store.get(k)).body)).toString()).toBe('old');
      const fresh = key('never');
      await expect(store.put(fresh, failing(MiB), { contentType: 'text/plain' })).rejects.toThrow('boom');
      expect(await store.head(fresh)).toBeUndefined();
    });

    it('multipart: a re-uploaded part replaces the first; complete joins the parts in order', async () => {
      const { store, key } = await target();
      const k = key('mp');
      const id = await store.createMultipart(k, { contentType: 'image/jpeg' });
      const p1 = randomBytes(5 * MiB);
      const p2 = randomBytes(1000);
      await store.uploadPart(k, id, 1, randomBytes(5 * MiB), 5 * MiB);
      const e1 = await store.uploadPart(k, id, 1, p1, p1.length);
      const e2 = await store.uploadPart(k, id, 2, chunks(p2), p2.length);
      await expect(store.uploadPart(k, id, 3, Buffer.alloc(5), 6)).rejects.toMatchObject({
        code: 'size_mismatch',
      });
      const info = await store.completeMultipart(k, id, [
        { partNumber: 1, etag: e1.etag },
        { partNumber: 2, etag: e2.etag },
      ]);
      expect(info).toMatchObject({ size: p1.length + p2.length, contentType: 'image/jpeg' });
      // Compare digests: a deep equality over megabytes of bytes takes vitest minutes.
      expect(await sha256((await store.get(k)).body)).toBe(hashOf(p1, p2));
    });

    it(
      skipped(cannot.checkPartEtags, 'multipart: completing with an unknown ETag fails with part_missing'),
      async (ctx) => {
        if (cannot.checkPartEtags) return ctx.skip();
        const { store, key } = await target();
        const k = key('mp-missing');
        const id = await store.createMultipart(k, { contentType: 'image/jpeg' });
        await store.uploadPart(k, id, 1, Buffer.from('abc'), 3);
        await expect(
          store.completeMultipart(k, id, [{ partNumber: 1, etag: 'f'.repeat(32) }]),
        ).rejects.toMatchObject({ code: 'part_missing' });
        expect(await store.head(k)).toBeUndefined();
      },
    );

    it(
      skipped(cannot.abortMultipart, 'multipart: abort deletes the parts; the upload is gone'),
      async (ctx) => {
        if (cannot.abortMultipart) return ctx.skip();
        const { store, key } = await target();
        const k = key('mp-abort');
        const id = await store.createMultipart(k, { contentType: 'image/jpeg' });
        const { etag } = await store.uploadPart(k, id, 1, Buffer.from('abc'), 3);
        await store.abortMultipart(k, id);
        await store.abortMultipart(k, id);
        await expect(store.completeMultipart(k, id, [{ partNumber: 1, etag }])).rejects.toMatchObject({
          code: 'not_found',
        });
        expect(await store.head(k)).toBeUndefined();
      },
    );

    it('presigned PUT, part and GET URLs work with the headers they name', async () => {
      const { store, key, resolveUrl } = await target();
      const k = key('pre.png');
      const body = randomBytes(2048);
      const put = await store.presignPut(k, {
        contentType: 'image/png',
        contentLength: body.length,
        expiresInSeconds: 60,
      });
      expect(put.expiresAt).toBeGreaterThan(Date.now());
      const r = await fetch(resolveUrl(put.url), { method: 'PUT', headers: put.headers, body });
      expect(r.status).toBe(200);
      expect(await store.head(k)).toMatchObject({ size: 2048, contentType: 'image/png' });
      const got = await fetch(resolveUrl(await store.presignGet(k, { expiresInSeconds: 60 })));
      expect(Buffer.from(await got.arrayBuffer())).toEqual(body);

      const mk = key('pre-mp');
      const id = await store.createMultipart(mk, { contentType: 'image/png' });
      const part = await store.presignPart(mk, id, 1, { expiresInSeconds: 60, contentLength: body.length });
      const pr = await fetch(resolveUrl(part.url), { method: 'PUT', headers: part.headers, body });
      expect(pr.status).toBe(200);
      const etag = pr.headers.get('etag') ?? '';
      expect(etag).not.toBe('');
      await store.completeMultipart(mk, id, [{ partNumber: 1, etag }]);
      expect(await store.head(mk)).toMatchObject({ size: 2048 });
    });

    it(
      skipped(cannot.enforcePresignedBinding, 'a presigned PUT refuses another length or type'),
      async (ctx) => {
        if (cannot.enforcePresignedBinding) return ctx.skip();
        const { store, key, resolveUrl } = await target();
        const k = key('bound');
        const put = await store.presignPut(k, {
          contentType: 'image/png',
          contentLength: 10,
          expiresInSeconds: 60,
        });
        const long = await fetch(resolveUrl(put.url), {
          method: 'PUT',
          headers: { 'content-type': 'image/png' },
          body: Buffer.alloc(11),
        });
        expect(long.status).toBeGreaterThanOrEqual(400);
        const typed = await fetch(resolveUrl(put.url), {
          method: 'PUT',
          headers: { 'content-type': 'text/html' },
          body: Buffer.alloc(10),
        });
        expect(typed.status).toBeGreaterThanOrEqual(400);
        expect(await store.head(k)).toBeUndefined();
      },
    );

    it('an expired presigned URL is refused with 403', async () => {
      const { store, key, resolveUrl } = await target();
      const k = key('late');
      const put = await store.presignPut(k, {
        contentType: 'image/png',
        contentLength: 3,
        expiresInSeconds: 1,
      });
      await new Promise((r) => setTimeout(r, 2100));
      const r = await fetch(resolveUrl(put.url), {
        method: 'PUT',
        headers: put.headers,
        body: Buffer.from('abc'),
      });
      expect(r.status).toBe(403);
      expect(await store.head(k)).toBeUndefined();
    });
  });
}

export async function drain(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(c);
  return Buffer.concat(parts);
}

function hashOf(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

async function sha256(body: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of body) h.update(c);
  return h.digest('hex');
}

/** `size` random bytes in 64 KiB chunks, hashed into `hash` as they are made: never all in memory. */
export async function* generate(
  size: number,
  hash?: ReturnType<typeof createHash>,
): AsyncGenerator<Uint8Array> {
  for (let left = size; left > 0; ) {
    const c = randomBytes(Math.min(left, 64 * 1024));
    hash?.update(c);
    left -= c.length;
    yield c;
  }
}

async function* chunks(b: Buffer): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += 100) yield b.subarray(i, i + 100);
}

async function* failing(after: number): AsyncGenerator<Uint8Array> {
  yield* generate(after);
  throw new Error('boom');
}
