import sharp, { type Metadata } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { MediaRefused } from './errors.js';
import { ACCEPTED_TYPES, type SniffedType, sniff } from './sniff.js';

export interface PipelineOptions {
  /** width × height above which an image is refused (decompression bombs). */
  maxInputPixels: number;
  /** Long-edge sizes of the variants, e.g. [1080, 640, 150]; never upscaled. */
  sizes: readonly number[];
  webpQuality: number;
  jpegQuality: number;
}

export const defaultPipelineOptions: PipelineOptions = {
  maxInputPixels: 50_000_000,
  sizes: [1080, 640, 150],
  webpQuality: 80,
  jpegQuality: 82,
};

export type VariantFormat = 'webp' | 'jpeg';

export interface EncodedVariant {
  /** The size asked for (its long edge is at most this). */
  size: number;
  format: VariantFormat;
  width: number;
  height: number;
  data: Buffer;
}

export interface ProcessedImage {
  /** The sniffed type of the original. */
  format: SniffedType;
  /** Of the original, after auto-orientation. */
  width: number;
  height: number;
  variants: EncodedVariant[];
  /** ThumbHash, base64. */
  placeholder: string;
}

interface Raw {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/** sharp's `metadata().format` for each accepted sniffed type. */
const SHARP_FORMAT: Partial<Record<SniffedType, string>> = {
  jpeg: 'jpeg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  tiff: 'tiff',
  avif: 'heif',
};

export type StageListener = (stage: 'decoding' | 'resizing' | 'encoding', percent: number) => void;

/**
 * Validates an original and turns it into variants. Refusals throw
 * `MediaRefused` with a stable code. The original is decoded once (with
 * shrink-on-load, straight to the largest variant size, auto-oriented, in
 * sRGB 8-bit) and each smaller size is resized from the previous one.
 * Nothing of the original's metadata (EXIF, GPS, XMP, ICC) is written out:
 * the variants are encoded from bare pixels.
 */
export async function processImage(
  input: Buffer,
  o: PipelineOptions = defaultPipelineOptions,
  onStage: StageListener = () => {},
): Promise<ProcessedImage> {
  if (input.length === 0) throw new MediaRefused('image_empty', 'The file is empty.');
  const type = sniff(input);
  if (!ACCEPTED_TYPES.has(type)) {
    const what =
      type === 'unknown'
        ? 'not an image this server recognises'
        : `${type.toUpperCase()}, which is not accepted`;
    throw new MediaRefused(
      'unsupported_media_type',
      `The file is ${what}; send JPEG, PNG, WebP, GIF, TIFF or AVIF.`,
    );
  }
  const { width, height, srgb8 } = await inspect(input, type, o);
  onStage('decoding', 20);
  const sizes = [...o.sizes].sort((a, b) => b - a);
  const largest = sizes[0] ?? 1080;
  let current = await decode(input, largest, o, srgb8);
  onStage('resizing', 45);
  const steps: Raw[] = [];
  for (const size of sizes) {
    const target = Math.min(size, Math.max(width, height));
    if (Math.max(current.width, current.height) > target) current = await resizeRaw(current, target);
    steps.push(current);
  }
  onStage('encoding', 60);
  const variants: EncodedVariant[] = [];
  // The placeholder is made beside the encodes (one await for all: none can reject unobserved).
  const [placeholder] = await Promise.all([
    thumbhash(steps[steps.length - 1] ?? current),
    ...sizes.map(async (size, i) => {
      const raw = steps[i]!;
      const [webp, jpeg] = await Promise.all([encode(raw, 'webp', o), encode(raw, 'jpeg', o)]);
      variants.push({ size, format: 'webp', width: raw.width, height: raw.height, data: webp });
      variants.push({ size, format: 'jpeg', width: raw.width, height: raw.height, data: jpeg });
    }),
  ]);
  variants.sort((a, b) => b.size - a.size || a.format.localeCompare(b.format));
  return { format: type, width, height, variants, placeholder };
}

/** Reads the header only: dimensions after orientation, the pixel limit, type agreement. */
async function inspect(
  input: Buffer,
  type: SniffedType,
  o: PipelineOptions,
): Promise<{ width: number; height: number; srgb8: boolean }> {
  let meta: Metadata;
  try {
    // The header alone is safe to read whatever its dimensions; the limit is checked below with its own code.
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new MediaRefused('image_corrupt', `The ${type.toUpperCase()} header does not decode.`, err);
  }
  if (meta.format !== SHARP_FORMAT[type] || (type === 'avif' && meta.compression !== 'av1')) {
    throw new MediaRefused(
      'image_corrupt',
      `The bytes start like ${type.toUpperCase()} but decode as ${meta.format}.`,
    );
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (w < 1 || h < 1) throw new MediaRefused('image_corrupt', 'The image has no pixels.');
  if (w * h > o.maxInputPixels) {
    throw new MediaRefused(
      'image_too_large',
      `The image is ${w}×${h} pixels; at most ${o.maxInputPixels} pixels are accepted.`,
    );
  }
  // Multi-frame images (GIF, WebP) report their first frame: only that one is decoded.
  const { width, height } = meta.autoOrient ?? { width: w, height: h };
  return { width, height, srgb8: meta.space === 'srgb' && meta.depth === 'uchar' };
}

/** `srgb8`: already 8-bit sRGB, so the colour conversion (a few ms on 12 MP) is skipped. */
async function decode(input: Buffer, longEdge: number, o: PipelineOptions, srgb8: boolean): Promise<Raw> {
  try {
    let img = sharp(input, {
      limitInputPixels: o.maxInputPixels,
      failOn: 'error',
      autoOrient: true,
      pages: 1,
    }).resize(longEdge, longEdge, { fit: 'inside', withoutEnlargement: true });
    // CMYK, 16-bit, grey with a profile, …: bring to the 8-bit sRGB every variant is encoded from.
    if (!srgb8) img = img.toColourspace('srgb');
    const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    if (err instanceof Error && /pixel limit/i.test(err.message)) {
      throw new MediaRefused('image_too_large', 'The image has more pixels than accepted.', err);
    }
    throw new MediaRefused('image_corrupt', 'The image data is truncated or corrupt.', err);
  }
}

const fromRaw = (r: Raw) =>
  sharp(r.data, { raw: { width: r.width, height: r.height, channels: r.channels } });

async function resizeRaw(r: Raw, longEdge: number): Promise<Raw> {
  const { data, info } = await fromRaw(r)
    .resize(longEdge, longEdge, { fit: 'inside', withoutEnlargement: true })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function encode(r: Raw, format: VariantFormat, o: PipelineOptions): Promise<Buffer> {
  if (format === 'webp') return fromRaw(r).webp({ quality: o.webpQuality }).toBuffer();
  // JPEG has no alpha: composite transparent pixels over white.
  const img =
    r.channels === 2 || r.channels === 4 ? fromRaw(r).flatten({ background: '#ffffff' }) : fromRaw(r);
  return img.jpeg({ quality: o.jpegQuality, progressive: Math.max(r.width, r.height) > 320 }).toBuffer();
}

/**
 * ThumbHash keeps only low-frequency components (at most 7 per axis), so a
 * 48 px input gives the same placeholder as the 100 px maximum at a quarter
 * of the cost of its per-pixel cosine loops (~20 ms of CPU at 100 px).
 */
async function thumbhash(r: Raw): Promise<string> {
  const { data, info } = await fromRaw(r)
    .resize(48, 48, { fit: 'inside', withoutEnlargement: true })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64');
}
