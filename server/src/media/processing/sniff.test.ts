import { describe, expect, it } from 'vitest';
import { backoffDelay, defaultJobQueueOptions } from '../../jobs/job-queue.js';
import { ACCEPTED_TYPES, sniff } from './sniff.js';

const bytes = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

describe('sniff', () => {
  it.each([
    ['jpeg', bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF')],
    ['png', bytes([0x89], 'PNG\r\n\x1a\n', [0, 0, 0, 13])],
    ['webp', bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 ')],
    ['gif', bytes('GIF89a', [1, 0, 1, 0])],
    ['gif', bytes('GIF87a', [1, 0, 1, 0])],
    ['tiff', bytes('II*', [0, 8, 0, 0, 0])],
    ['tiff', bytes('MM', [0, 42, 0, 0, 0, 8])],
    ['avif', bytes([0, 0, 0, 28], 'ftypavif', [0, 0, 0, 0], 'mif1miafavif')],
    ['avif', bytes([0, 0, 0, 24], 'ftypmif1', [0, 0, 0, 0], 'avifmiaf')],
    ['heic', bytes([0, 0, 0, 24], 'ftypheic', [0, 0, 0, 0], 'mif1heic')],
    ['svg', bytes('  <svg xmlns="http://www.w3.org/2000/svg">')],
    ['svg', bytes('<?xml version="1.0"?><svg>')],
    ['bmp', bytes('BM', [0, 0, 0, 0])],
    ['unknown', bytes('This is a text file with a .jpg name')],
    ['unknown', bytes([0xff, 0xd8])],
    ['unknown', bytes()],
  ])('recognises %s from its first bytes', (type, b) => {
    expect(sniff(b)).toBe(type);
  });

  it('accepts only what sharp decodes safely here', () => {
    expect([...ACCEPTED_TYPES].sort()).toEqual(['avif', 'gif', 'jpeg', 'png', 'tiff', 'webp']);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap', () => {
    const o = { ...defaultJobQueueOptions, backoffBaseMs: 100, backoffMaxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(o, a))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
