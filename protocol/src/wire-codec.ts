import type { Codec, Frame } from './codec.js';
import { Subprotocol } from './version.js';

/**
 * The two codecs without dependencies, for clients (the SDK's browser
 * bundle). `msgpackWireCodec` is a small MessagePack writer and reader for
 * exactly what protocol §2.2 allows; it writes the same bytes as the
 * server's msgpackr codec (`codec.ts`) with its pinned options, which a
 * test checks value by value. Its reader refuses what §2.1/§2.2 forbid:
 * `bin` and extension types, 0xc1, non-string map keys, duplicate keys,
 * invalid UTF-8, trailing bytes.
 * The server keeps msgpackr (faster on large frames, hardened separately).
 */

// Made on first use, so that loading the SDK never fails on a platform
// without them (Hermes before React Native 0.85 has no TextDecoder): ASCII
// strings (written, or read up to 64 bytes) and JSON text frames need neither.
let encoder: TextEncoder | undefined;
let decoder: TextDecoder | undefined;
const utf8Encode = (s: string) => (encoder ??= new TextEncoder()).encode(s);
// ignoreBOM: a byte-order mark is kept, so JSON.parse refuses it (§2.3: no BOM).
const utf8Decode = (b: Uint8Array) =>
  (decoder ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })).decode(b);

/** Nesting deeper than this is refused both ways (protocol frames are a few levels deep). */
const MAX_DEPTH = 512;

function fail(message: string): never {
  throw new TypeError(`msgpack: ${message}`);
}

export const jsonWireCodec: Codec = {
  name: 'json',
  subprotocol: Subprotocol.json,
  binary: false,
  encode: (message) => JSON.stringify(message),
  decode: (frame) => JSON.parse(typeof frame === 'string' ? frame : utf8Decode(frame)) as unknown,
};

class Writer {
  buf = new Uint8Array(128);
  view = new DataView(this.buf.buffer);
  pos = 0;

  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** A type byte followed by an unsigned big-endian length/value of `size` bytes (0, 1, 2 or 4). */
  head(type: number, size: number, value: number): void {
    this.room(1 + size);
    this.buf[this.pos++] = type;
    if (size === 1) this.buf[this.pos] = value;
    else if (size === 2) this.view.setUint16(this.pos, value);
    else if (size === 4) this.view.setUint32(this.pos, value);
    this.pos += size;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A length-prefixed family: `fix` (short form base and limit), then 8/16/32-bit forms. */
  sized(len: number, fixBase: number, fixLimit: number, t8: number, t16: number, t32: number): void {
    if (len < fixLimit) this.head(fixBase | len, 0, 0);
    else if (t8 !== 0 && len < 0x100) this.head(t8, 1, len);
    else if (len < 0x10000) this.head(t16, 2, len);
    else this.head(t32, 4, len);
  }

  value(v: unknown, depth: number): void {
    if (depth > MAX_DEPTH) fail('value nested too deeply');
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'number':
        return this.number(v);
      case 'boolean':
        return this.head(v ? 0xc3 : 0xc2, 0, 0);
      case 'bigint':
        // As msgpackr: always int64 (the server reads it as a number).
        if (v < -(2n ** 63n) || v >= 2n ** 63n) fail('bigint outside int64');
        this.room(9);
        this.buf[this.pos++] = 0xd3;
        this.view.setBigInt64(this.pos, v);
        this.pos += 8;
        return;
      case 'object':
        if (v === null) return this.head(0xc0, 0, 0);
        if (Array.isArray(v)) {
          this.sized(v.length, 0x90, 16, 0, 0xdc, 0xdd);
          for (const item of v) this.value(item ?? null, depth + 1);
          return;
        }
        if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
          fail('no binary data on the wire (§2.1)');
        }
        if (v instanceof Set) return this.value([...v], depth);
        if (v instanceof Map) return this.map(Object.fromEntries(v), depth);
        if (typeof (v as { toJSON?: unknown }).toJSON === 'function') {
          return this.value((v as { toJSON(): unknown }).toJSON(), depth + 1);
        }
        return this.map(v as Record<string, unknown>, depth);
      default:
        // undefined only reaches here inside arrays' `?? null` or at top level.
        fail(`cannot encode a ${typeof v}`);
    }
  }

  /** ASCII is written char by char (most protocol strings); anything else through TextEncoder. */
  string(v: string): void {
    const n = v.length;
    const start = this.pos;
    this.sized(n, 0xa0, 32, 0xd9, 0xda, 0xdb);
    this.room(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = start;
        const b = utf8Encode(v);
        this.sized(b.length, 0xa0, 32, 0xd9, 0xda, 0xdb);
        this.bytes(b);
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  number(v: number): void {
    if (Number.isInteger(v) && v >= -0x80000000 && v <= 0xffffffff) {
      if (v >= 0) {
        if (v < 0x80) this.head(v, 0, 0);
        else if (v < 0x100) this.head(0xcc, 1, v);
        else if (v < 0x10000) this.head(0xcd, 2, v);
        else this.head(0xce, 4, v);
      } else if (v >= -0x20) this.head(v & 0xff, 0, 0);
      else if (v >= -0x80) this.head(0xd0, 1, v & 0xff);
      else if (v >= -0x8000) this.head(0xd1, 2, v & 0xffff);
      else this.head(0xd2, 4, v >>> 0);
      return;
    }
    this.room(9);
    this.buf[this.pos++] = 0xcb;
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  map(o: Record<string, unknown>, depth: number): void {
    // Absent optional fields (undefined) are left out, as the server's codec
    // does; functions and symbols too, as JSON.stringify does.
    const keys = Object.keys(o);
    let n = 0;
    for (const k of keys) if (kept(o[k])) n++;
    this.sized(n, 0x80, 16, 0, 0xde, 0xdf);
    for (const k of keys) {
      const v = o[k];
      if (!kept(v)) continue;
      this.string(k);
      this.value(v, depth + 1);
    }
  }
}

function kept(v: unknown): boolean {
  const t = typeof v;
  return t !== 'undefined' && t !== 'function' && t !== 'symbol';
}

class Reader {
  readonly view: DataView;
  pos = 0;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  take(n: number): number {
    const at = this.pos;
    if (at + n > this.buf.length) fail('truncated');
    this.pos += n;
    return at;
  }

  /** An unsigned big-endian integer of 1, 2 or 4 bytes. */
  uint(size: number): number {
    const at = this.take(size);
    return size === 1 ? this.buf[at]! : size === 2 ? this.view.getUint16(at) : this.view.getUint32(at);
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) fail('value nested too deeply');
    const t = this.buf[this.take(1)]!;
    if (t < 0x80) return t;
    if (t >= 0xe0) return t - 0x100;
    if (t < 0x90) return this.map(t & 0x0f, depth);
    if (t < 0xa0) return this.array(t & 0x0f, depth);
    if (t < 0xc0) return this.str(t & 0x1f);
    const v = this.view;
    switch (t) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xca:
        return v.getFloat32(this.take(4));
      case 0xcb:
        return v.getFloat64(this.take(8));
      case 0xcc:
      case 0xcd:
      case 0xce:
        return this.uint(1 << (t - 0xcc));
      case 0xcf: {
        const at = this.take(8);
        return v.getUint32(at) * 0x100000000 + v.getUint32(at + 4);
      }
      case 0xd0:
        return v.getInt8(this.take(1));
      case 0xd1:
        return v.getInt16(this.take(2));
      case 0xd2:
        return v.getInt32(this.take(4));
      case 0xd3: {
        const at = this.take(8);
        return v.getInt32(at) * 0x100000000 + v.getUint32(at + 4);
      }
      case 0xd9:
      case 0xda:
      case 0xdb:
        return this.str(this.uint(1 << (t - 0xd9)));
      case 0xdc:
      case 0xdd:
        return this.array(this.uint(t === 0xdc ? 2 : 4), depth);
      case 0xde:
      case 0xdf:
        return this.map(this.uint(t === 0xde ? 2 : 4), depth);
      default:
        // 0xc1 (never used), bin (§2.1), ext 8/16/32 and fixext 1–16 (§2.2).
        fail(`type 0x${t.toString(16)} not allowed (no bin, no ext)`);
    }
  }

  str(len: number): string {
    const at = this.take(len);
    if (len <= 64) {
      // Short ASCII strings (keys, ids, names) without TextDecoder's call cost.
      let out = '';
      for (let i = at; i < at + len; i++) {
        const c = this.buf[i]!;
        if (c >= 0x80) return utf8Decode(this.buf.subarray(at, at + len));
        out += String.fromCharCode(c);
      }
      return out;
    }
    return utf8Decode(this.buf.subarray(at, at + len));
  }

  array(len: number, depth: number): unknown[] {
    // Each element takes at least one byte: a bogus length fails before allocating.
    if (len > this.buf.length - this.pos) fail('truncated');
    const out = new Array<unknown>(len);
    for (let i = 0; i < len; i++) out[i] = this.value(depth + 1);
    return out;
  }

  map(len: number, depth: number): Record<string, unknown> {
    if (len * 2 > this.buf.length - this.pos) fail('truncated');
    const out: Record<string, unknown> = {};
    for (let i = 0; i < len; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== 'string') fail('map keys must be strings');
      if (Object.hasOwn(out, key)) fail(`duplicate map key ${JSON.stringify(key)}`);
      const value = this.value(depth + 1);
      // defineProperty: a `__proto__` key stays data and never replaces the prototype.
      if (key === '__proto__')
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      else out[key] = value;
    }
    return out;
  }
}

/** One writer reused across calls (its buffer keeps the largest size seen, up to 64 KiB). */
let spare: Writer | undefined;

export function encodeMsgpack(value: unknown): Uint8Array {
  const w = spare ?? new Writer();
  spare = undefined; // a toJSON that encodes again gets a writer of its own
  w.pos = 0;
  try {
    w.value(value, 0);
    return w.buf.slice(0, w.pos);
  } finally {
    if (w.buf.length <= 0x10000) spare = w;
  }
}

/** Exactly one value; throws on trailing bytes, truncation, extension types and non-string keys. */
export function decodeMsgpack(bytes: Uint8Array): unknown {
  const r = new Reader(bytes);
  const value = r.value(0);
  if (r.pos !== bytes.length) fail('trailing bytes');
  return value;
}

export const msgpackWireCodec: Codec = {
  name: 'msgpack',
  subprotocol: Subprotocol.msgpack,
  binary: true,
  encode: (message) => encodeMsgpack(message),
  decode: (frame: Frame) => {
    if (typeof frame === 'string') fail('frames must be binary');
    return decodeMsgpack(frame);
  },
};
