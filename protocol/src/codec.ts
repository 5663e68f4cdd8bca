import { type Options, Packr, Unpackr } from 'msgpackr';
import type { ClientMessage, ServerMessage } from './messages.js';
import { assertUniqueJsonKeys, countKeys, MalformedFrameError, scanMsgpack } from './strict-decode.js';
import { assertCleanText, jsonMayHoldUncleanText } from './text.js';
import { Subprotocol } from './version.js';

/** A frame as a transport hands it over: text frames as string, binary as bytes. */
export type Frame = string | Uint8Array;

/**
 * Turns messages into frames and back. `shutter.v1.json` uses UTF-8 text
 * frames; `shutter.v1.msgpack` uses binary frames holding one MessagePack
 * map (string keys, no extension types). `decode` throws on anything that
 * is not exactly one well-formed value — a key repeated within a map
 * included (both parsers would keep the last silently), and for msgpack
 * also the unused byte 0xc1, `bin`, `ext` and invalid UTF-8 (see
 * `strict-decode.ts`). A frame that decodes but holds a string or key that
 * is not well-formed Unicode or holds NUL throws `UncleanTextError`, which
 * the server answers with `bad_request` instead of `bad_frame` (`text.ts`).
 * The result is untrusted until validated against the schema (`validate.ts`).
 */
export interface Codec {
  readonly name: 'json' | 'msgpack';
  readonly subprotocol: Subprotocol;
  readonly binary: boolean;
  encode(message: ServerMessage | ClientMessage): Frame;
  decode(frame: Frame): unknown;
}

// ignoreBOM: a byte-order mark is kept, so JSON.parse refuses it (§2.3: no BOM).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export const jsonCodec: Codec = {
  name: 'json',
  subprotocol: Subprotocol.json,
  binary: false,
  encode: (message) => JSON.stringify(message),
  decode: (frame) => {
    const text = typeof frame === 'string' ? frame : utf8.decode(frame);
    const value = JSON.parse(text) as unknown;
    assertUniqueJsonKeys(text, value);
    if (jsonMayHoldUncleanText(text)) assertCleanText(value);
    return value;
  },
};

// Pinned here once: records and structured clones off, plain maps as objects,
// 64-bit integers as numbers. Both sides of the wire use these options.
// `undefined` (an absent optional field) is left out of maps instead of being
// written as msgpackr's extension type 0, which the wire does not allow.
// (msgpackr 2.1.3 supports `skipValues` but its typings do not declare it.)
const packrOptions: Options & { skipValues: unknown[] } = {
  useRecords: false,
  structuredClone: false,
  skipValues: [undefined],
};
const packr = new Packr(packrOptions);
const unpackr = new Unpackr({
  useRecords: false,
  structuredClone: false,
  mapsAsObjects: true,
  int64AsType: 'number',
});

export const msgpackCodec: Codec = {
  name: 'msgpack',
  subprotocol: Subprotocol.msgpack,
  binary: true,
  encode: (message) => packr.pack(message),
  decode: (frame) => {
    if (typeof frame === 'string') throw new MalformedFrameError('msgpack frames must be binary');
    const scan = scanMsgpack(frame);
    const value = unpackr.unpack(frame) as unknown;
    if (countKeys(value) !== scan.entries)
      throw new MalformedFrameError('a key appears more than once in one map');
    // Valid UTF-8 holds no lone surrogate: only NUL is left to look for.
    if (scan.nul) assertCleanText(value);
    return value;
  },
};

export function codecFor(subprotocol: string): Codec | undefined {
  if (subprotocol === Subprotocol.msgpack) return msgpackCodec;
  if (subprotocol === Subprotocol.json) return jsonCodec;
  return undefined;
}
