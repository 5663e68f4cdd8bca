import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, TRANSPORTS, wsUrl } from './helpers/test-node.js';

/** A real photo-like JPEG with EXIF (orientation 6 and a GPS tag) that must not survive. */
async function photo(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .jpeg({ quality: 85 })
    .withExif({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1' } })
    .withMetadata({ orientation: 6 })
    .toBuffer();
}

describe.each(TRANSPORTS)('media path through a whole node on %s', (transport) => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode(transport);
  });
  afterAll(async () => node.shutdown());

  it("a streamed upload ends ready on the uploader's socket, variants served, and a second upload of it is ready at once", async () => {
    const token = await devToken(node, 'uploader');
    const socket = await RawClient.open(wsUrl(node), token);
    expect(await socket.call({ t: 'sub', stream: 'user:uploader:media' })).toMatchObject({ t: 'res' });
    const bytes = await photo(1600, 1200);
    const upload = async () => {
      const r = await fetch(`${node.url}/v1/uploads/stream`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'image/jpeg',
          'content-length': String(bytes.length),
        },
        body: new Uint8Array(bytes),
      });
      expect(r.status).toBe(201);
      return (await r.json()) as { media: { mediaId: string; status: string } };
    };
    const first = await upload();
    const ready = (await socket.next(
      (m) =>
        m.t === 'ev' &&
        (m.data as { type: string; mediaId: string }).type === 'media.ready' &&
        (m.data as { mediaId: string }).mediaId === first.media.mediaId,
      60_000,
    )) as {
      data: {
        variants: { width: number; height: number; format: string; key: string }[];
        width: number;
        height: number;
      };
    };
    // Auto-oriented: orientation 6 turns 1600×1200 into a portrait 1200×1600.
    expect([ready.data.width, ready.data.height]).toEqual([1200, 1600]);
    const sizes = ready.data.variants.map((v) => `${v.format}:${Math.max(v.width, v.height)}`).sort();
    expect(sizes).toEqual(['jpeg:1080', 'jpeg:150', 'jpeg:640', 'webp:1080', 'webp:150', 'webp:640']);
    expect(
      socket
        .events('user:uploader:media')
        .some((e) => (e.data as { type: string }).type === 'media.progress'),
    ).toBe(true);

    const variant = ready.data.variants.find(
      (v) => v.format === 'webp' && Math.max(v.width, v.height) === 640,
    )!;
    const got = await fetch(`${node.url}/media/${variant.key}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/webp');
    const meta = await sharp(Buffer.from(await got.arrayBuffer())).metadata();
    expect([meta.width, meta.height]).toEqual([480, 640]);
    expect(meta.exif).toBeUndefined();

    const status = await fetch(`${node.url}/v1/media/${first.media.mediaId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await status.json()).toMatchObject({ status: 'ready' });
    const other = await fetch(`${node.url}/v1/media/${first.media.mediaId}`, {
      headers: { authorization: `Bearer ${await devToken(node, 'someone-else')}` },
    });
    expect(other.status).toBe(404);

    const second = await upload();
    expect(second.media.status).toBe('ready');
    socket.close();
  }, 90_000);

  it('refuses uploads without a token, and a text file posing as a JPEG ends failed with its code', async () => {
    const anon = await fetch(`${node.url}/v1/uploads/stream`, {
      method: 'PUT',
      headers: { 'content-type': 'image/jpeg' },
      body: 'x',
    });
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    const token = await devToken(node, 'prankster');
    const socket = await RawClient.open(wsUrl(node), token);
    await socket.call({ t: 'sub', stream: 'user:prankster:media' });
    const r = await fetch(`${node.url}/v1/uploads/stream`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'image/jpeg' },
      body: 'this is not a photo at all, just text pretending to be one',
    });
    expect(r.status).toBe(201);
    const failed = await socket.next(
      (m) => m.t === 'ev' && (m.data as { type: string }).type === 'media.failed',
      30_000,
    );
    expect(failed).toMatchObject({ data: { code: 'unsupported_media_type' } });
    socket.close();
  }, 60_000);
});
