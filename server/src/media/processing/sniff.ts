/**
 * The real type of an upload, from its first bytes. The file name and the
 * declared content type are never consulted: a PNG named `.jpg` is a PNG, a
 * text file named `.jpg` is refused.
 */
export type SniffedType =
  | 'jpeg'
  | 'png'
  | 'webp'
  | 'gif'
  | 'tiff'
  | 'avif'
  | 'heic'
  | 'svg'
  | 'bmp'
  | 'unknown';

/** What processing accepts (decoded safely by sharp here; see docs/media-processing.md). */
export const ACCEPTED_TYPES: ReadonlySet<SniffedType> = new Set([
  'jpeg',
  'png',
  'webp',
  'gif',
  'tiff',
  'avif',
]);

/** Bytes `sniff` needs to decide. */
export const SNIFF_BYTES = 64;

const startsWith = (b: Uint8Array, sig: readonly number[], at = 0) =>
  b.length >= at + sig.length && sig.every((v, i) => b[at + i] === v);

const ascii = (b: Uint8Array, from: number, to: number) => String.fromCharCode(...b.subarray(from, to));

export function sniff(b: Uint8Array): SniffedType {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return 'gif';
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (ascii(b, 0, 2) === 'BM') return 'bmp';
  const isobmff = isoBrand(b);
  if (isobmff) return isobmff;
  const head = ascii(b, 0, Math.min(b.length, SNIFF_BYTES)).trimStart().toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'svg';
  return 'unknown';
}

/** HEIF-family files: a `ftyp` box whose major or compatible brands name AVIF or HEIC. */
function isoBrand(b: Uint8Array): SniffedType | undefined {
  if (b.length < 16 || ascii(b, 4, 8) !== 'ftyp') return undefined;
  const size = Math.min(
    ((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0),
    b.length,
  );
  const brands = [ascii(b, 8, 12)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(ascii(b, at, at + 4));
  if (brands.some((x) => x === 'avif' || x === 'avis')) return 'avif';
  if (brands.some((x) => ['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1'].includes(x)))
    return 'heic';
  return undefined;
}
