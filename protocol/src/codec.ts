import { type Options, Packr, Unpackr } from 'msgpackr';
import type { ClientMessage, ServerMessage } from './messages.js';
import { Subprotocol } from './version.js';

/** A frame as a transport hands it over: text frames as string, binary as bytes. */
export type Frame = string | Uint8Array;

/**
 * Turns messages into frames and back. `shutter.v1.json` uses UTF-8 text
 * frames; `shutter.v1.msgpack` uses binary frames holding one MessagePack
 * map (string keys, no extension types). `decode` throws on anything that
 * is not exactly one well-formed value; its result is untrusted until
 * validated against the schema (see `validate.ts`).
 */
export interface Codec {
  readonly name: 'json' | 'msgpack';
  readonly subprotocol: Subprotocol;
  readonly binary: boolean;
  encode(message: ServerMessage | ClientMessage): Frame;
  decode(frame: Frame): unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const jsonCodec: Codec = {
  name: 'json',
  subprotocol: Subprotocol.json,
  binary: false,
  encode: (message) => JSON.stringify(message),
  decode: (frame) => JSON.parse(typeof frame === 'string' ? frame : utf8.decode(frame)) as unknown,
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
    if (typeof frame === 'string') throw new TypeError('msgpack frames must be binary');
    return unpackr.unpack(frame) as unknown;
  },
};

export function codecFor(subprotocol: string): Codec | undefined {
  if (subprotocol === Subprotocol.msgpack) return msgpackCodec;
  if (subprotocol === Subprotocol.json) return jsonCodec;
  return undefined;
}
