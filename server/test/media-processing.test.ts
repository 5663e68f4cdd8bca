import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { BLUE, hasGpsIfd, RED, UPRIGHT } from './fixtures/make-images.js';
import { hue, MediaHarness, near } from './fixtures/media-harness.js';

// Every generated image ends ready with checked variants or refused with its code.
const h = MediaHarness.use();

describe('media processing of generated images', () => {
  it('has fixtures that are what they claim to be', async () => {
    const meta = async (n: string) =>
      sharp(readFileSync(h.images[n]!), { limitInputPixels: false }).metadata();
    expect((await meta('cmyk.jpg')).space).toBe('cmyk');
    expect((await meta('png16.png')).depth).toBe('ushort');
    expect(await meta('palette-alpha.png')).toMatchObject({ isPalette: true, hasAlpha: true });
    expect((await meta('progressive.jpg')).isProgressive).toBe(true);
    expect(await meta('bomb.png')).toMatchObject({ width: 20_000, height: 20_000 });
    expect(readFileSync(h.images['bomb.png']!).length).toBeLessThan(100_000);
    expect((await meta('anim.gif')).pages).toBe(2);
    for (let o = 1; o <= 8; o++) expect((await meta(`orient-${o}.jpg`)).orientation).toBe(o);
    expect(readFileSync(h.images['empty.jpg']!).length).toBe(0);
  });

  for (let o = 1; o <= 8; o++) {
    it(`auto-orients EXIF orientation ${o}: landscape, red marker top-left in every variant`, async () => {
      const m = await h.processed(`orient-${o}.jpg`);
      expect(m).toMatchObject({
        status: 'ready',
        format: 'jpeg',
        width: UPRIGHT.width,
        height: UPRIGHT.height,
      });
      await h.checkVariants(m, UPRIGHT.width, UPRIGHT.height);
      for (const v of m.variants) {
        expect(near(await h.pixel(v.key, 0.1, 0.1), RED), `${v.key} top-left`).toBe(true);
        for (const [fx, fy] of [
          [0.9, 0.1],
          [0.1, 0.9],
          [0.9, 0.9],
        ] as const) {
          expect(near(await h.pixel(v.key, fx, fy), BLUE), `${v.key} at ${fx},${fy}`).toBe(true);
        }
      }
    });
  }

  it.each([
    ['cmyk.jpg', 'jpeg', 1000, 625],
    ['png16.png', 'png', 900, 563],
    ['progressive.jpg', 'jpeg', 2000, 1250],
    ['photo.webp', 'webp', 1200, 750],
    ['photo.tiff', 'tiff', 1200, 750],
    ['photo.avif', 'avif', 1200, 750],
  ])('%s ends ready as sRGB 8-bit variants with the marker in place', async (name, format, w, ht) => {
    const m = await h.processed(name);
    expect(m).toMatchObject({ status: 'ready', format, width: w, height: ht });
    await h.checkVariants(m, w, ht);
    for (const v of m.variants) {
      const meta = await sharp(h.blobs.objects.get(v.key)!.data).metadata();
      expect([meta.space, meta.depth, meta.channels]).toEqual(['srgb', 'uchar', 3]);
      expect(hue(await h.pixel(v.key, 0.1, 0.1))).toBe('red');
      expect(hue(await h.pixel(v.key, 0.9, 0.9))).toBe('blue');
    }
  });

  it('keeps transparency of a paletted PNG in WebP and flattens it on white in JPEG', async () => {
    const m = await h.processed('palette-alpha.png', 'image/png');
    expect(m).toMatchObject({ status: 'ready', format: 'png', width: 500, height: 400 });
    await h.checkVariants(m, 500, 400);
    for (const v of m.variants) {
      const { data, info } = await sharp(h.blobs.objects.get(v.key)!.data)
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const px = (fx: number) => [
        ...data
          .subarray(Math.floor(info.height / 2) * info.width * 4 + Math.floor(fx * info.width) * 4)
          .subarray(0, 4),
      ];
      expect(near(px(0.2), [0, 200, 0]) && (px(0.2)[3] ?? 0) > 200).toBe(true);
      if (v.format === 'webp') expect(px(0.8)[3]).toBeLessThan(20);
      else expect(near(px(0.8), [255, 255, 255])).toBe(true);
    }
  });

  it('takes the first frame of an animated GIF', async () => {
    const m = await h.processed('anim.gif', 'image/gif');
    expect(m).toMatchObject({ status: 'ready', format: 'gif', width: 300, height: 200 });
    await h.checkVariants(m, 300, 200);
    for (const v of m.variants) expect(near(await h.pixel(v.key, 0.5, 0.5), RED)).toBe(true);
  });

  it('never upscales a small image', async () => {
    const m = await h.processed('small.png');
    expect(m).toMatchObject({ status: 'ready', width: 120, height: 80 });
    await h.checkVariants(m, 120, 80);
    expect(new Set(m.variants.map((v) => `${v.width}x${v.height}`))).toEqual(new Set(['120x80']));
  });

  it('sniffs the real type: a PNG named .jpg and declared image/jpeg is processed as PNG', async () => {
    const m = await h.processed('png-named.jpg', 'image/jpeg');
    expect(m).toMatchObject({
      status: 'ready',
      format: 'png',
      declaredType: 'image/jpeg',
      width: 800,
      height: 500,
    });
  });

  it('strips EXIF and GPS: none survives in any variant of a photo that had both', async () => {
    const original = await sharp(readFileSync(h.images['gps.jpg']!)).metadata();
    expect(original.exif && hasGpsIfd(original.exif)).toBe(true);
    const m = await h.processed('gps.jpg');
    expect(m.status).toBe('ready');
    await h.checkVariants(m, 1200, 900);
    for (const v of m.variants) expect(h.blobs.objects.get(v.key)!.data.includes('ShutterCam')).toBe(false);
  });

  it.each([
    ['bomb.png', 'image_too_large'],
    ['truncated.jpg', 'image_corrupt'],
    ['text.jpg', 'unsupported_media_type'],
    ['empty.jpg', 'image_empty'],
    ['fake.heic', 'unsupported_media_type'],
    ['drawing.svg', 'unsupported_media_type'],
  ])('refuses %s with %s, once, and tells the uploader', async (name, code) => {
    const { mediaId } = await h.upload(name);
    const m = await h.settled(mediaId);
    expect(m).toMatchObject({ status: 'failed', failureCode: code, variants: [] });
    expect(m.failureReason).toBeTruthy();
    expect(await h.queue.get(mediaId)).toMatchObject({ status: 'done', attempts: 1 });
    const last = h.publisher.of(mediaId).at(-1);
    expect(last).toEqual({ type: 'media.failed', mediaId, code, reason: m.failureReason });
  });
});
