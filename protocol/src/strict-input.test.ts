import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { hardenMsgpackDecoding, jsonCodec, msgpackCodec } from './index.js';
import { findUncleanText, readClientFrame, validate, validateParams } from './validate.js';

hardenMsgpackDecoding();

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
/** msgpack fixstr of ASCII text. */
const fixstr = (s: string) => Buffer.concat([Buffer.from([0xa0 | s.length]), Buffer.from(s, 'latin1')]);
/** `{"t":"req","id":1,"method":"system.increment","params":{"counter":<raw str bytes>,"by":1}}` in msgpack. */
function incrementWithCounter(strBytes: Uint8Array): Uint8Array {
  return Buffer.concat([
    Buffer.from([0x84]),
    fixstr('t'),
    fixstr('req'),
    fixstr('id'),
    Buffer.from([0x01]),
    fixstr('method'),
    fixstr('system.increment'),
    fixstr('params'),
    Buffer.from([0x82]),
    fixstr('counter'),
    Buffer.from([0xa0 | strBytes.length]),
    strBytes,
    fixstr('by'),
    Buffer.from([0x01]),
  ]);
}

describe('strings must be well-formed Unicode without NUL (issue 7)', () => {
  it.each([
    ['a lone high surrogate', '"\\ud800"'],
    ['a lone low surrogate', '"x\\udc00y"'],
    ['a reversed pair', '"\\udc00\\ud800"'],
    ['NUL', '"a\\u0000b"'],
  ])('JSON: %s in params is bad_request with the id', (_what, literal) => {
    const frame = `{"t":"req","id":7,"method":"system.increment","params":{"counter":${literal},"by":1}}`;
    const r = readClientFrame(jsonCodec, frame);
    expect(r).toMatchObject({ ok: false, code: 'bad_request', id: 7 });
    expect((r as { message: string }).message).toMatch(
      /\/params\/counter: the string (holds NUL|is not well-formed)/,
    );
    // As a binary frame too.
    expect(readClientFrame(jsonCodec, new TextEncoder().encode(frame))).toMatchObject({
      ok: false,
      code: 'bad_request',
      id: 7,
    });
  });

  it('JSON: in a key, in the envelope, in nested free-form values, raw in the text', () => {
    for (const frame of [
      '{"t":"req","id":3,"method":"system.echo","params":{"\\ud800":"x"}}',
      '{"t":"sub","id":3,"stream":"topic:a\\u0000"}',
      '{"t":"hello","v":1,"token":"abc","client":{"name":"\\udfff"}}',
      '{"t":"req","id":3,"method":"system.echo","params":{"a":[1,{"b":["\\ud83d"]}]}}',
      '{"t":"req","id":3,"method":"system.echo","params":{"text":"\ud800"}}',
    ]) {
      const r = readClientFrame(jsonCodec, frame);
      expect(r, frame).toMatchObject({ ok: false, code: 'bad_request' });
      // The error text is itself clean: it can be sent back in an err frame.
      expect(findUncleanText((r as { message: string }).message)).toBeUndefined();
    }
  });

  it('accepts surrogate pairs (emoji), escaped or not, and other non-ASCII text', () => {
    const r = readClientFrame(
      jsonCodec,
      '{"t":"req","id":1,"method":"system.echo","params":{"text":"\\ud83d\\udcf7 📷 héllo \\\\u0000"}}',
    );
    expect(r).toMatchObject({ ok: true, value: { params: { text: '📷 📷 héllo \\u0000' } } });
  });

  it('msgpack: NUL in a string is bad_request with the id; invalid UTF-8 is bad_frame', () => {
    expect(readClientFrame(msgpackCodec, incrementWithCounter(hex('61 00 62')))).toMatchObject({
      ok: false,
      code: 'bad_request',
      id: 1,
    });
    // ED A0 80 is U+D800 in CESU-8/WTF-8: not UTF-8. msgpackr alone decodes it as U+FFFD.
    for (const bad of ['ed a0 80', 'ff', 'c0 80', 'e2 82', 'f4 90 80 80', 'e0 80 80', 'f0 80 80 80']) {
      expect(readClientFrame(msgpackCodec, incrementWithCounter(hex(bad))), bad).toMatchObject({
        ok: false,
        code: 'bad_frame',
        message: expect.stringMatching(/UTF-8/),
      });
    }
    // A long string (decoded by msgpackr's other path) too.
    const long = Buffer.concat([Buffer.from('a'.repeat(28)), hex('ed a0 80')]);
    expect(() => msgpackCodec.decode(incrementWithCounter(long))).toThrow(/UTF-8/);
    for (const good of ['c3 a9 f0 9f 93 b7', 'ef bf bd', 'f4 8f bf bf', 'ed 9f bf', 'ee 80 80'])
      expect(readClientFrame(msgpackCodec, incrementWithCounter(hex(good))).ok, good).toBe(true);
  });

  it('validateParams and validate refuse them too (HTTP bodies and future callers)', () => {
    expect(validateParams('system.increment', { counter: '\ud800', by: 1 })).toMatchObject({ ok: false });
    expect(validateParams('system.echo', { text: 'a\0' })).toMatchObject({ ok: false });
    expect(validate(Type.String(), 'x\ud800').ok).toBe(false);
    expect(validate(Type.Object({ a: Type.Unknown() }), { a: { '\0': 1 } }).ok).toBe(false);
    expect(validate(Type.String(), 'x\ud83d\udcf7').ok).toBe(true);
  });

  it('walks deep values without overflowing the stack', () => {
    const deep = `${'['.repeat(50_000)}"\\ud800"${']'.repeat(50_000)}`;
    const r = readClientFrame(jsonCodec, `{"t":"req","id":2,"method":"system.echo","params":${deep}}`);
    expect(r).toMatchObject({ ok: false, code: 'bad_request', id: 2 });
  });
});

describe('msgpack: only well-formed frames decode (issue 7)', () => {
  it('refuses the never-used byte 0xc1, at the top or nested', () => {
    expect(() => msgpackCodec.decode(hex('c1'))).toThrow(/0xc1/);
    expect(() => msgpackCodec.decode(hex('81 a1 74 c1'))).toThrow(/0xc1/);
    expect(() => msgpackCodec.decode(hex('82 a1 74 a4 70 69 6e 67 a1 78 91 c1'))).toThrow(/0xc1/);
  });

  it('refuses bin, ext, non-string keys, truncation and trailing bytes', () => {
    expect(() => msgpackCodec.decode(hex('82 a1 74 a4 70 69 6e 67 a1 78 c4 01 00'))).toThrow(/bin/);
    expect(() => msgpackCodec.decode(hex('82 a1 74 a4 70 69 6e 67 a1 78 d4 01 00'))).toThrow(/extension/);
    expect(() => msgpackCodec.decode(hex('82 a1 74 a4 70 69 6e 67 01 02'))).toThrow(/keys must be strings/);
    expect(() => msgpackCodec.decode(hex('82 a1 74 a4 70 69 6e'))).toThrow(/truncated/);
    expect(() => msgpackCodec.decode(hex('81 a1 74 a4 70 69 6e 67 c0'))).toThrow(/trailing/);
    expect(() => msgpackCodec.decode(hex('dd ff ff ff ff'))).toThrow(/truncated/);
  });

  it('still decodes every format the server accepts', () => {
    // map16 with str8 key, uint64, float64, array16, nil/true/false, negative ints
    const bytes = hex(
      'de 00 02 d9 01 74 a4 70 69 6e 67 a1 78 dc 00 07 cf 00 00 00 00 00 00 00 05 cb 3f f8 00 00 00 00 00 00 c0 c3 c2 ff d3 ff ff ff ff ff ff ff fe',
    );
    expect(msgpackCodec.decode(bytes)).toEqual({ t: 'ping', x: [5, 1.5, null, true, false, -1, -2] });
  });
});

describe('a key twice in one map is refused on both codecs (issue 7)', () => {
  it('JSON: at the top, for id, nested in params', () => {
    expect(() => jsonCodec.decode('{"t":"ping","t":"ping"}')).toThrow(/more than once/);
    expect(() =>
      jsonCodec.decode('{"t":"req","id":1,"method":"system.echo","params":{"text":"a"},"id":2}'),
    ).toThrow(/more than once/);
    expect(() =>
      jsonCodec.decode('{"t":"req","id":1,"method":"system.echo","params":{"text":"a","text":"b"}}'),
    ).toThrow(/more than once/);
    expect(() => jsonCodec.decode('{"t":"req","id":1,"params":[{"a":1,"a":1}]}')).toThrow(/more than once/);
  });

  it('JSON: colons, quotes and backslashes inside strings are not keys', () => {
    const text = '{"t":"req","id":1,"method":"system.echo","params":{"text":"a:\\":b\\\\","x:":":"}}';
    expect(jsonCodec.decode(text)).toEqual({
      t: 'req',
      id: 1,
      method: 'system.echo',
      params: { text: 'a:":b\\', 'x:': ':' },
    });
    expect(jsonCodec.decode(' { "t" : "ping" } ')).toEqual({ t: 'ping' });
  });

  it('JSON: a binary frame with a byte-order mark is refused (§2.3)', () => {
    expect(() => jsonCodec.decode(hex('ef bb bf 7b 22 74 22 3a 22 70 69 6e 67 22 7d'))).toThrow();
  });

  it('msgpack: at the top and nested', () => {
    expect(() => msgpackCodec.decode(hex('82 a1 74 a4 70 69 6e 67 a1 74 a4 70 69 6e 67'))).toThrow(
      /more than once/,
    );
    expect(() => msgpackCodec.decode(hex('82 a1 74 a4 70 69 6e 67 a1 78 82 a1 61 01 a1 61 02'))).toThrow(
      /more than once/,
    );
  });
});

describe('msgpack integers beyond 32 bits (issue 7, §2.2)', () => {
  it('are sent as float64 wherever they are, data included', () => {
    const ev = msgpackCodec.encode({
      t: 'ev',
      stream: 'topic:a',
      epoch: 'e',
      seq: 1,
      data: { n: 2 ** 32, m: -(2 ** 31) - 1, k: 2 ** 32 - 1 },
      ts: 0,
    }) as Uint8Array;
    const h = Buffer.from(ev).toString('hex');
    expect(h).toContain(`a16e${'cb41f0000000000000'}`);
    expect(h).toContain(`a16d${'cbc1e0000000200000'}`);
    expect(h).toContain(`a16b${'ceffffffff'}`);
  });
});

describe('the msgpack scanner agrees with msgpackr', () => {
  /** A deterministic PRNG, so a failure can be reproduced from its seed. */
  function rng(seed: number) {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = Math.imul(s ^ (s >>> 15), s | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  function value(r: () => number, depth: number): unknown {
    const k = Math.floor(r() * (depth > 3 ? 6 : 8));
    const strs = ['', 'a', 'héllo', '📷', 'x'.repeat(40), 'y'.repeat(300), 'k:v'];
    const nums = [
      0,
      1,
      -1,
      127,
      128,
      -33,
      255,
      256,
      65_535,
      65_536,
      2 ** 31,
      2 ** 32,
      -(2 ** 31) - 1,
      2 ** 53 - 1,
      1.5,
    ];
    switch (k) {
      case 0:
        return null;
      case 1:
        return r() < 0.5;
      case 2:
      case 3:
        return nums[Math.floor(r() * nums.length)];
      case 4:
      case 5:
        return strs[Math.floor(r() * strs.length)];
      case 6: {
        const n = Math.floor(r() * 20);
        return Array.from({ length: n }, () => value(r, depth + 1));
      }
      default: {
        const o: Record<string, unknown> = {};
        const n = Math.floor(r() * 20);
        for (let i = 0; i < n; i++) o[`k${i}${strs[i % strs.length]}`] = value(r, depth + 1);
        return o;
      }
    }
  }

  it('decodes every value msgpackr encodes, unchanged', () => {
    const r = rng(7);
    for (let i = 0; i < 2000; i++) {
      const v = { t: 'x', v: value(r, 0) };
      expect(msgpackCodec.decode(msgpackCodec.encode(v as never) as Uint8Array)).toEqual(v);
    }
  });

  it('answers random bytes with a value or an Error, never anything else', () => {
    const r = rng(11);
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 256));
      try {
        msgpackCodec.decode(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(Error);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });
});
