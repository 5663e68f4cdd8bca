import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../src/adapters/local-blob-store.js';
import type { ShutterNode } from '../src/node.js';
import { devToken, startTestNode, TRANSPORTS } from './helpers/test-node.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const MUTABLE = 'public, max-age=300';
const SECRET = 'media-serving-test-secret-0123456789abcdef';

/** A second handle on the node's own store directory (DATA_DIR/media), same signing secret. */
function storeBeside(dataDir: string, now?: () => number): LocalBlobStore {
  return new LocalBlobStore({ root: join(dataDir, 'media'), signingSecret: SECRET, ...(now ? { now } : {}) });
}

async function bytesOf(r: Response): Promise<Buffer> {
  return Buffer.from(await r.arrayBuffer());
}

describe.each(TRANSPORTS)('local-store media serving on %s', (transport) => {
  let node: ShutterNode;
  let store: LocalBlobStore;
  const body = randomBytes(1000);
  const sha = createHash('sha256').update(body).digest('hex');
  const immutableKey = `media/v/${sha}.webp`;
  const mutableKey = 'public/notes/readme.bin';
  const privateKey = 'uploads/alice/original-1';
  let immutableEtag: string;

  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'shutter-serving-'));
    node = await startTestNode(transport, { DATA_DIR: dataDir, MEDIA_SIGNING_SECRET: SECRET });
    store = storeBeside(dataDir);
    immutableEtag = (await store.put(immutableKey, body, { contentType: 'image/webp', size: body.length }))
      .etag;
    await store.put(mutableKey, body, { contentType: 'application/octet-stream', size: body.length });
    await store.put(privateKey, body, { contentType: 'image/jpeg', size: body.length });
  });
  afterAll(async () => node.shutdown());

  const url = (key: string) => `${node.url}/media/${key}`;

  it('GET of a content-addressed key: 200, the bytes, Content-Type, quoted MD5 ETag, immutable caching', async () => {
    const r = await fetch(url(immutableKey));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/webp');
    expect(r.headers.get('etag')).toBe(`"${immutableEtag}"`);
    expect(immutableEtag).toBe(createHash('md5').update(body).digest('hex'));
    expect(r.headers.get('cache-control')).toBe(IMMUTABLE);
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Date.parse(r.headers.get('last-modified') ?? '')).not.toBeNaN();
    expect((await bytesOf(r)).equals(body)).toBe(true);
  });

  it('a key that is not content-addressed is cached for five minutes only', async () => {
    const r = await fetch(url(mutableKey));
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe(MUTABLE);
    expect((await bytesOf(r)).equals(body)).toBe(true);
  });

  it('If-None-Match with the ETag (also weak, or in a list, or *) answers 304 with the validators and no body', async () => {
    for (const inm of [`"${immutableEtag}"`, `W/"${immutableEtag}"`, `"other", "${immutableEtag}"`, '*']) {
      const r = await fetch(url(immutableKey), { headers: { 'if-none-match': inm } });
      expect(r.status, inm).toBe(304);
      expect(r.headers.get('etag')).toBe(`"${immutableEtag}"`);
      expect(r.headers.get('cache-control')).toBe(IMMUTABLE);
      expect((await bytesOf(r)).length).toBe(0);
    }
    const stale = await fetch(url(immutableKey), { headers: { 'if-none-match': '"not-the-etag"' } });
    expect(stale.status).toBe(200);
    expect((await bytesOf(stale)).equals(body)).toBe(true);
  });

  it('Range: bytes=0-99 answers 206 with Content-Range and exactly those 100 bytes', async () => {
    const r = await fetch(url(immutableKey), { headers: { range: 'bytes=0-99' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 0-99/${body.length}`);
    expect(r.headers.get('etag')).toBe(`"${immutableEtag}"`);
    expect(r.headers.get('content-type')).toBe('image/webp');
    const got = await bytesOf(r);
    expect(got.length).toBe(100);
    expect(got.equals(body.subarray(0, 100))).toBe(true);
  });

  it('a middle range, an open-ended range and one running past the end are served clamped', async () => {
    const mid = await fetch(url(immutableKey), { headers: { range: 'bytes=500-509' } });
    expect(mid.status).toBe(206);
    expect(mid.headers.get('content-range')).toBe(`bytes 500-509/${body.length}`);
    expect((await bytesOf(mid)).equals(body.subarray(500, 510))).toBe(true);

    const open = await fetch(url(immutableKey), { headers: { range: 'bytes=990-' } });
    expect(open.status).toBe(206);
    expect(open.headers.get('content-range')).toBe(`bytes 990-999/${body.length}`);
    expect((await bytesOf(open)).equals(body.subarray(990))).toBe(true);

    const past = await fetch(url(immutableKey), { headers: { range: 'bytes=995-5000' } });
    expect(past.status).toBe(206);
    expect(past.headers.get('content-range')).toBe(`bytes 995-999/${body.length}`);
    expect((await bytesOf(past)).equals(body.subarray(995))).toBe(true);
  });

  it('GET answers carry Content-Length (whole object and range)', async () => {
    const whole = await fetch(url(immutableKey));
    expect(whole.headers.get('content-length')).toBe(String(body.length));
    await whole.arrayBuffer();
    const part = await fetch(url(immutableKey), { headers: { range: 'bytes=0-99' } });
    expect(part.headers.get('content-length')).toBe('100');
    await part.arrayBuffer();
  });

  it('streams a 24 MiB object to a reader that stalls, with Content-Length and every byte (backpressure)', async () => {
    const big = randomBytes(24 * 1024 * 1024);
    const key = `media/v/${createHash('sha256').update(big).digest('hex')}.webp`;
    await store.put(key, big, { contentType: 'image/webp', size: big.length });
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      httpGet(url(key), resolve).on('error', reject),
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(big.length));
    // Read nothing for a while: the socket fills and the server must wait for it to drain.
    res.pause();
    await new Promise((r) => setTimeout(r, 300));
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of res) {
      hash.update(chunk as Buffer);
      n += (chunk as Buffer).length;
    }
    expect(n).toBe(big.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
    const part = await fetch(url(key), { headers: { range: 'bytes=1000000-9999999' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-length')).toBe('9000000');
    expect((await bytesOf(part)).equals(big.subarray(1_000_000, 10_000_000))).toBe(true);
  });

  it('a suffix range bytes=-10 answers the last 10 bytes', async () => {
    const r = await fetch(url(immutableKey), { headers: { range: 'bytes=-10' } });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 990-999/${body.length}`);
    const got = await bytesOf(r);
    expect(got.length).toBe(10);
    expect(got.equals(body.subarray(body.length - 10))).toBe(true);
  });

  it('an unsatisfiable range answers 416 with Content-Range bytes */size and no body', async () => {
    for (const range of [`bytes=${body.length}-`, 'bytes=5000-6000', 'bytes=-0', 'bytes=20-10']) {
      const r = await fetch(url(immutableKey), { headers: { range } });
      expect(r.status, range).toBe(416);
      expect(r.headers.get('content-range')).toBe(`bytes */${body.length}`);
      expect((await bytesOf(r)).length).toBe(0);
    }
  });

  it('a Range the server may ignore (several ranges, another unit) serves the whole object with 200', async () => {
    for (const range of ['bytes=0-1,5-6', 'items=0-1']) {
      const r = await fetch(url(immutableKey), { headers: { range } });
      expect(r.status, range).toBe(200);
      expect(r.headers.get('content-range')).toBeNull();
      expect((await bytesOf(r)).equals(body)).toBe(true);
    }
  });

  it('HEAD gives the headers, the full or ranged length, and no body', async () => {
    const h = await fetch(url(immutableKey), { method: 'HEAD' });
    expect(h.status).toBe(200);
    expect(h.headers.get('content-type')).toBe('image/webp');
    expect(h.headers.get('etag')).toBe(`"${immutableEtag}"`);
    expect(h.headers.get('cache-control')).toBe(IMMUTABLE);
    expect(h.headers.get('content-length')).toBe(String(body.length));
    expect((await bytesOf(h)).length).toBe(0);

    const ranged = await fetch(url(immutableKey), { method: 'HEAD', headers: { range: 'bytes=0-99' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 0-99/${body.length}`);
    expect(ranged.headers.get('content-length')).toBe('100');
    expect((await bytesOf(ranged)).length).toBe(0);
  });

  it('a missing object is a 404 with the JSON error body, on GET and HEAD', async () => {
    const r = await fetch(url(`media/v/${'0'.repeat(64)}.webp`));
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await r.json()).toMatchObject({ error: { code: 'not_found' } });
    const h = await fetch(url('public/nothing-here'), { method: 'HEAD' });
    expect(h.status).toBe(404);
    expect((await bytesOf(h)).length).toBe(0);
  });

  it('private prefixes (uploaded originals) need a presigned URL, which caches privately until it expires', async () => {
    const anon = await fetch(url(privateKey));
    expect(anon.status).toBe(403);
    expect(await anon.json()).toMatchObject({ error: { code: 'forbidden' } });

    const signed = await store.presignGet(privateKey, { expiresInSeconds: 600 });
    expect(signed.startsWith(`/media/${privateKey}?`)).toBe(true);
    const r = await fetch(`${node.url}${signed}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/jpeg');
    const cc = /^private, max-age=(\d+)$/.exec(r.headers.get('cache-control') ?? '');
    expect(cc).not.toBeNull();
    const maxAge = Number(cc![1]);
    expect(maxAge).toBeGreaterThan(590);
    expect(maxAge).toBeLessThanOrEqual(601);
    expect((await bytesOf(r)).equals(body)).toBe(true);

    // Ranges work on signed URLs too.
    const part = await fetch(`${node.url}${signed}`, { headers: { range: 'bytes=-10' } });
    expect(part.status).toBe(206);
    expect((await bytesOf(part)).equals(body.subarray(-10))).toBe(true);
  });

  it('an expired, tampered or other-key signed URL is refused before the object is looked at', async () => {
    // Signed by a clock two minutes back for one minute: expired a minute ago.
    const past = storeBeside(join(tmpdir(), 'unused'), () => Date.now() - 120_000);
    const expired = await past.presignGet(privateKey, { expiresInSeconds: 60 });
    const e = await fetch(`${node.url}${expired}`);
    expect(e.status).toBe(403);
    expect(await e.json()).toMatchObject({ error: { code: 'url_expired' } });

    const good = await store.presignGet(privateKey, { expiresInSeconds: 600 });
    const tampered = good.replace(
      /X-Shutter-Expires=(\d+)/,
      (_, n: string) => `X-Shutter-Expires=${Number(n) + 1}`,
    );
    expect(tampered).not.toBe(good);
    const t = await fetch(`${node.url}${tampered}`);
    expect(t.status).toBe(403);
    expect(await t.json()).toMatchObject({ error: { code: 'forbidden' } });

    // A signature for one key does not open another.
    const query = good.slice(good.indexOf('?'));
    const other = await fetch(`${url('uploads/alice/original-2')}${query}`);
    expect(other.status).toBe(403);

    // A signed URL for a public key is checked too (and an expired one refused).
    const expiredPublic = await past.presignGet(mutableKey, { expiresInSeconds: 60 });
    const ep = await fetch(`${node.url}${expiredPublic}`);
    expect(ep.status).toBe(403);
    expect(await ep.json()).toMatchObject({ error: { code: 'url_expired' } });
  });

  it('a variant named by GET /v1/media/:id after a real upload is served immutable, with ETag, 304 and ranges', async () => {
    const token = await devToken(node, 'server-of-variants');
    const photo = await sharp({
      create: { width: 800, height: 600, channels: 3, background: { r: 30, g: 120, b: 200 } },
    })
      .jpeg({ quality: 80 })
      .toBuffer();
    const up = await fetch(`${node.url}/v1/uploads/stream`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'image/jpeg',
        'content-length': String(photo.length),
      },
      body: new Uint8Array(photo),
    });
    expect(up.status).toBe(201);
    const { media } = (await up.json()) as { media: { mediaId: string } };
    type Item = { status: string; variants: { key: string; format: string; bytes: number }[] };
    let item: Item | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const s = await fetch(`${node.url}/v1/media/${media.mediaId}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      item = (await s.json()) as Item;
      if (item.status !== 'processing') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(item?.status).toBe('ready');
    const variant = item!.variants.find((v) => v.format === 'webp')!;
    expect(variant.key).toMatch(/^media\/v\/[0-9a-f]{64}\.webp$/);

    const r = await fetch(url(variant.key));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/webp');
    expect(r.headers.get('cache-control')).toBe(IMMUTABLE);
    const etag = r.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const full = await bytesOf(r);
    expect(full.length).toBe(variant.bytes);
    // Content-addressed: the key names the SHA-256 of the bytes served.
    expect(variant.key).toContain(createHash('sha256').update(full).digest('hex'));

    const again = await fetch(url(variant.key), { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect((await bytesOf(again)).length).toBe(0);

    const head = await fetch(url(variant.key), { headers: { range: 'bytes=0-99' } });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-range')).toBe(`bytes 0-99/${variant.bytes}`);
    expect((await bytesOf(head)).equals(full.subarray(0, 100))).toBe(true);
  }, 90_000);
});
