/**
 * What the codecs check beyond their parsers, so that a frame means exactly
 * one thing: no key twice in a map (JSON.parse and msgpackr both keep the
 * last silently), and for msgpack only well-formed values (msgpackr decodes
 * the never-used byte 0xc1 as an object and replaces invalid UTF-8 with
 * U+FFFD). Each throws a `MalformedFrameError`, which the codecs' callers
 * report as `bad_frame`. All walks are iterative: depth is bounded only by
 * frame size.
 */

/** A frame that is not one well-formed value; its message names the rule broken (never echoes the frame). */
export class MalformedFrameError extends TypeError {
  override name = 'MalformedFrameError';
}

/** Number of keys in every object inside `value`, nested ones included. */
export function countKeys(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  const stack: object[] = [value];
  for (let v = stack.pop(); v !== undefined; v = stack.pop()) {
    if (Array.isArray(v)) {
      for (const x of v) if (typeof x === 'object' && x !== null) stack.push(x);
    } else {
      for (const k in v) {
        n++;
        const x = (v as Record<string, unknown>)[k];
        if (typeof x === 'object' && x !== null) stack.push(x);
      }
    }
  }
  return n;
}

/**
 * Number of keys written in a JSON text: the `:` outside strings (in JSON a
 * colon outside a string only ever separates a key from its value). Only
 * meaningful for text that `JSON.parse` accepted.
 */
export function countJsonKeys(text: string): number {
  // A plain loop: measured faster than jumping between quotes with indexOf.
  let n = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x3a) n++;
  }
  return n;
}

/** Every `:` in the text, inside strings or not (native search, no per-character loop). */
function countColons(text: string): number {
  let n = 0;
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) n++;
  return n;
}

/**
 * Throws when a parsed JSON text held a key twice in one object. Each key
 * is written with one colon, so when the text holds no more colons than the
 * parsed value has keys, no key was repeated: that native count settles
 * most frames, and only text with colons inside strings (stream names) is
 * scanned character by character.
 */
export function assertUniqueJsonKeys(text: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  const keys = countKeys(value);
  if (countColons(text) === keys || countJsonKeys(text) === keys) return;
  throw new MalformedFrameError('a key appears more than once in one object');
}

/** Payload sizes of the fixed-size msgpack scalars nil, false, true, float32/64, uint8…64, int8…64. */
const SCALAR_SIZE = new Uint8Array(256);
for (const [t, size] of [
  [0xca, 4],
  [0xcb, 8],
  [0xcc, 1],
  [0xcd, 2],
  [0xce, 4],
  [0xcf, 8],
  [0xd0, 1],
  [0xd1, 2],
  [0xd2, 4],
  [0xd3, 8],
] as const)
  SCALAR_SIZE[t] = size;

/** Items still to read in each open container (for maps, keys and values both count); reused by every scan. */
const remaining: number[] = [];
const isMap: boolean[] = [];

function fail(why: string): never {
  throw new MalformedFrameError(why);
}

/**
 * Checks that `b` is exactly one msgpack value with string keys, valid UTF-8
 * in every string, and none of: 0xc1, `bin`, `ext` (the wire allows neither,
 * docs/protocol.md §2.2), trailing bytes. Returns the number of map entries,
 * so the caller can compare it with the keys of the decoded value (a
 * repeated key is dropped by the decoder), and whether any string holds NUL.
 */
export function scanMsgpack(b: Uint8Array): { entries: number; nul: boolean } {
  const end = b.length;
  let top = -1;
  let p = 0;
  let entries = 0;
  let nul = false;
  do {
    const key = top >= 0 && isMap[top] === true && remaining[top]! % 2 === 0;
    if (top >= 0) remaining[top]!--;
    if (p >= end) fail('truncated');
    const t = b[p++]!;
    let strLen = -1;
    let items = 0;
    let map = false;
    if (t <= 0x7f || t >= 0xe0) {
      // positive or negative fixint
    } else if (t <= 0x8f) {
      items = t & 0x0f;
      map = true;
    } else if (t <= 0x9f) items = t & 0x0f;
    else if (t <= 0xbf) strLen = t & 0x1f;
    else if (t === 0xc1) fail('byte 0xc1 is never used');
    else if (t >= 0xc4 && t <= 0xc6) fail('bin values are not allowed');
    else if ((t >= 0xc7 && t <= 0xc9) || (t >= 0xd4 && t <= 0xd8)) fail('extension types are not allowed');
    else if (t <= 0xd3) {
      const size = SCALAR_SIZE[t]!; // 0 for nil, false, true
      if (p + size > end) fail('truncated');
      p += size;
    } else if (t === 0xd9) {
      if (p + 1 > end) fail('truncated');
      strLen = b[p++]!;
    } else if (t === 0xda || t === 0xdc || t === 0xde) {
      if (p + 2 > end) fail('truncated');
      const n = (b[p]! << 8) | b[p + 1]!;
      p += 2;
      if (t === 0xda) strLen = n;
      else items = n;
      map = t === 0xde;
    } else {
      // 0xdb str32, 0xdd array32, 0xdf map32
      if (p + 4 > end) fail('truncated');
      const n = b[p]! * 0x1000000 + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
      p += 4;
      if (t === 0xdb) strLen = n;
      else items = n;
      map = t === 0xdf;
    }
    if (key && strLen < 0) fail('map keys must be strings');
    if (strLen >= 0) {
      if (p + strLen > end) fail('truncated');
      if (checkUtf8(b, p, p + strLen)) nul = true;
      p += strLen;
    }
    if (items > 0) {
      if (map) {
        entries += items;
        items *= 2;
      }
      // Every item takes at least one byte: a header claiming more cannot be honest.
      if (p + items > end) fail('truncated');
      top++;
      remaining[top] = items;
      isMap[top] = map;
    }
    while (top >= 0 && remaining[top] === 0) top--;
  } while (top >= 0);
  if (p !== end) fail('trailing bytes after the value');
  return { entries, nul };
}

/**
 * Throws unless b[from, to) is well-formed UTF-8 (RFC 3629: shortest form,
 * no surrogates, nothing above U+10FFFF); returns whether it holds NUL. A loop rather than TextDecoder:
 * protocol strings are short, and the call into the decoder costs more than
 * the loop.
 */
function checkUtf8(b: Uint8Array, from: number, to: number): boolean {
  let nul = false;
  let i = from;
  while (i < to) {
    const c = b[i]!;
    if (c < 0x80) {
      if (c === 0) nul = true;
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return fail('a string is not valid UTF-8');
    if (i + n >= to) return fail('a string is not valid UTF-8');
    const second = b[i + 1]!;
    if (second < lo || second > hi) return fail('a string is not valid UTF-8');
    for (let k = 2; k <= n; k++) {
      const x = b[i + k]!;
      if (x < 0x80 || x > 0xbf) return fail('a string is not valid UTF-8');
    }
    i += n + 1;
  }
  return nul;
}
