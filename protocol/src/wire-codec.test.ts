import { describe, expect, it } from 'vitest';
import { jsonCodec, msgpackCodec } from './codec.js';
import { Methods } from './methods.js';
import { MethodIdempotency } from './wire.js';
import { decodeMsgpack, encodeMsgpack, jsonWireCodec, msgpackWireCodec } from './wire-codec.js';

/** A seeded generator, so a failure names a case that can be run again. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const edgeNumbers = [
  0,
  1,
  127,
  128,
  255,
  256,
  65535,
  65536,
  0xffffffff,
  0x100000000,
  -1,
  -32,
  -33,
  -128,
  -129,
  -32768,
  -32769,
  -0x80000000,
  -0x80000001,
  1.5,
  -2.25,
  0.1,
  1e300,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  1_765_000_000_000,
  Number.NaN,
  Number.POSITIVE_INFINITY,
];
const edgeStrings = [
  '',
  'a',
  'x'.repeat(31),
  'x'.repeat(32),
  'x'.repeat(255),
  'x'.repeat(256),
  'é'.repeat(20),
  '日本語'.repeat(30),
  '🙂'.repeat(70),
  'x'.repeat(65535),
  'y'.repeat(65536),
  '__proto__',
];

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 3 ? 4 : 7));
  switch (k) {
    case 0:
      return edgeNumbers[Math.floor(r() * edgeNumbers.length)];
    case 1:
      return r() < 0.5 ? Math.floor((r() - 0.5) * 2 ** (r() * 53)) : (r() - 0.5) * 1e6;
    case 2:
      return r() < 0.3 ? null : r() < 0.5;
    case 3: {
      const chars = 'abcXYZ09 _-:é日🙂';
      const len = r() < 0.9 ? Math.floor(r() * 40) : Math.floor(r() * 400);
      let s = '';
      for (let i = 0; i < len; i++) s += [...chars][Math.floor(r() * [...chars].length)];
      return s;
    }
    case 4:
      return Array.from({ length: r() < 0.9 ? Math.floor(r() * 6) : 17 + Math.floor(r() * 5) }, () =>
        randomValue(r, depth + 1),
      );
    default: {
      const o: Record<string, unknown> = {};
      const n = r() < 0.9 ? Math.floor(r() * 6) : 16 + Math.floor(r() * 4);
      for (let i = 0; i < n; i++) o[`k${i}_${Math.floor(r() * 1000)}`] = randomValue(r, depth + 1);
      if (r() < 0.2) o.absent = undefined;
      return o;
    }
  }
}

const msgpackr = (v: unknown) => msgpackCodec.encode(v as never) as Uint8Array;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('msgpackWireCodec (the SDK codec without msgpackr)', () => {
  it('writes the same bytes as the server codec for edge values and 3 000 random messages', () => {
    const values: unknown[] = [
      ...edgeNumbers,
      ...edgeStrings,
      true,
      false,
      null,
      [],
      {},
      { a: undefined, b: 1 },
    ];
    values.push(
      Array.from({ length: 16 }, (_, i) => i),
      Array.from({ length: 70000 }, (_, i) => i % 3),
    );
    values.push(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])));
    values.push(Object.fromEntries(Array.from({ length: 70000 }, (_, i) => [`k${i}`, i])));
    // Beyond plain JSON, as msgpackr writes them: -0, bigints (int64), Map (a map), Set (an array).
    values.push(-0, 5n, -5n, 2n ** 40n, -(2n ** 63n), new Map([['a', 1]]), new Set([1, 'x']));
    const r = rng(7);
    for (let i = 0; i < 3000; i++)
      values.push({ t: 'req', id: i + 1, method: 'system.echo', params: randomValue(r, 0) });
    for (const v of values) {
      const mine = encodeMsgpack(v);
      const label = typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)?.slice(0, 200);
      expect(hex(mine), label).toBe(hex(msgpackr(v)));
      // And what the server writes, this reads back as msgpackr does.
      expect(decodeMsgpack(msgpackr(v))).toEqual(msgpackCodec.decode(msgpackr(v)));
    }
  });

  it('reads every integer and float format the server may send, as numbers', () => {
    const cases: [string, number][] = [
      ['cc ff', 255],
      ['cd ff ff', 65535],
      ['ce ff ff ff ff', 0xffffffff],
      ['cf 00 00 01 00 00 00 00 00', 2 ** 40],
      ['d0 80', -128],
      ['d1 80 00', -32768],
      ['d2 80 00 00 00', -0x80000000],
      ['d3 ff ff ff ff ff ff ff ff', -1],
      ['d3 ff ff ff 00 00 00 00 00', -(2 ** 40)],
      ['ca 3f c0 00 00', 1.5],
      ['cb 42 79 af 23 2b 20 00 00', 1_765_000_000_000],
    ];
    for (const [h, n] of cases) {
      const bytes = Buffer.from(h.replaceAll(' ', ''), 'hex');
      expect(decodeMsgpack(bytes), h).toBe(n);
      expect(msgpackCodec.decode(bytes), h).toBe(n);
    }
  });

  it('refuses what protocol §2.2 forbids: extensions, non-string keys, duplicate keys, trailing or missing bytes', () => {
    const bad = {
      'timestamp ext': 'd6 ff 00 00 00 01',
      ext8: 'c7 01 05 00',
      'fixext1 type 0 (undefined)': 'd4 00 00',
      '0xc1': 'c1',
      'integer key': '81 01 02',
      'duplicate key': '82 a1 61 01 a1 61 02',
      'trailing byte': '80 00',
      'truncated str': 'a5 61 62',
      'truncated map': '82 a1 61 01',
      'huge array length': 'dd ff ff ff ff',
      'invalid utf-8': 'a2 c3 28',
      bin8: 'c4 01 00',
    };
    for (const [name, h] of Object.entries(bad)) {
      expect(() => decodeMsgpack(Buffer.from(h.replaceAll(' ', ''), 'hex')), name).toThrow();
    }
    const deep = Buffer.concat([Buffer.alloc(600, 0x91), Buffer.from([0xc0])]);
    expect(() => decodeMsgpack(deep)).toThrow(/deeply/);
    expect(() => msgpackWireCodec.decode('text')).toThrow(TypeError);
  });

  it('keeps a __proto__ key as data', () => {
    const v = decodeMsgpack(
      Buffer.from('81 a9 5f 5f 70 72 6f 74 6f 5f 5f 81 a1 78 01'.replaceAll(' ', ''), 'hex'),
    ) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect((v as { x?: unknown }).x).toBeUndefined();
  });

  it('encodes a Date as JSON does (its ISO string), skips function values, refuses top-level undefined and binary', () => {
    const at = new Date(1_765_000_000_000);
    expect(decodeMsgpack(encodeMsgpack({ at }))).toEqual(JSON.parse(JSON.stringify({ at })));
    expect(() => encodeMsgpack(() => 1)).toThrow(TypeError);
    expect(decodeMsgpack(encodeMsgpack({ f: () => 1, a: 1 }))).toEqual(
      JSON.parse(JSON.stringify({ f: () => 1, a: 1 })),
    );
    expect(() => encodeMsgpack({ n: 2n ** 63n })).toThrow(/int64/);
    expect(() => encodeMsgpack(undefined)).toThrow(TypeError);
    expect(() => encodeMsgpack({ b: new Uint8Array(2) })).toThrow(/binary/);
  });

  it('the JSON wire codec reads and writes as the server JSON codec does', () => {
    const m = { t: 'req' as const, id: 3, method: 'system.echo', params: { text: 'héllo 🙂' } };
    expect(jsonWireCodec.encode(m)).toBe(jsonCodec.encode(m));
    expect(jsonWireCodec.decode(new TextEncoder().encode(jsonCodec.encode(m) as string))).toEqual(m);
  });
});

describe('MethodIdempotency', () => {
  it('agrees with Methods[m].idempotent for every method', () => {
    const fromSchemas = Object.fromEntries(Object.entries(Methods).map(([m, d]) => [m, d.idempotent]));
    expect(MethodIdempotency).toEqual(fromSchemas);
  });
});
