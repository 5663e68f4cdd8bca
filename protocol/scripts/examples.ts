/**
 * Byte-level examples for docs/protocol.md, made with the real codecs.
 *
 *   node --conditions=source --import tsx protocol/scripts/examples.ts          # print every block
 *   node --conditions=source --import tsx protocol/scripts/examples.ts --write  # rewrite the blocks in docs/protocol.md
 *
 * Each block sits between `<!-- example:<name> -->` and `<!-- /example:<name> -->`
 * in docs/protocol.md; protocol/src/doc-examples.test.ts fails when a block
 * differs from what this script renders, so the document cannot drift from
 * the codecs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ClientMessage, type Codec, jsonCodec, msgpackCodec, type ServerMessage } from '../src/index.js';

export interface Example {
  name: string;
  title: string;
  direction: 'client → server' | 'server → client';
  codec: Codec;
  message: ClientMessage | ServerMessage;
}

const hello: ClientMessage = {
  t: 'hello',
  v: 1,
  token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl',
  client: { name: 'shutter-ios', version: '1.4.0', platform: 'ios' },
};

const ev: ServerMessage = {
  t: 'ev',
  stream: 'user:42:inbox',
  epoch: 'kT3x9QaZ',
  seq: 17,
  data: { kind: 'like', photo: '9f3c', by: '7' },
  ts: 1767225600000,
};

export const EXAMPLES: readonly Example[] = [
  {
    name: 'hello-msgpack',
    title: '`hello`',
    direction: 'client → server',
    codec: msgpackCodec,
    message: hello,
  },
  { name: 'hello-json', title: '`hello`', direction: 'client → server', codec: jsonCodec, message: hello },
  {
    name: 'sub-msgpack',
    title: '`sub` with a resume position',
    direction: 'client → server',
    codec: msgpackCodec,
    message: { t: 'sub', id: 7, stream: 'user:42:inbox', from: { epoch: 'kT3x9QaZ', seq: 14 } },
  },
  {
    name: 'res-sub-msgpack',
    title: '`res` answering that `sub`',
    direction: 'server → client',
    codec: msgpackCodec,
    message: { t: 'res', id: 7, result: { epoch: 'kT3x9QaZ', seq: 17, status: 'recovered', missed: 3 } },
  },
  { name: 'ev-msgpack', title: '`ev`', direction: 'server → client', codec: msgpackCodec, message: ev },
  { name: 'ev-json', title: '`ev`', direction: 'server → client', codec: jsonCodec, message: ev },
  {
    name: 'err-json',
    title: '`err` (per-user rate limit; the server sends `id` right after `t`)',
    direction: 'server → client',
    codec: jsonCodec,
    message: {
      t: 'err',
      id: 9,
      code: 'rate_limited',
      message: 'too many frames; slow down',
      retryAfterMs: 10,
    },
  },
  {
    name: 'ping-msgpack',
    title: '`ping`',
    direction: 'client → server',
    codec: msgpackCodec,
    message: { t: 'ping' },
  },
];

/** The bytes a codec puts on the wire for a message (UTF-8 for JSON text frames). */
export function frameBytes(codec: Codec, message: ClientMessage | ServerMessage): Uint8Array {
  const frame = codec.encode(message);
  return typeof frame === 'string' ? new TextEncoder().encode(frame) : new Uint8Array(frame);
}

const hex2 = (b: number) => b.toString(16).padStart(2, '0');

/** A classic hex dump: offset, 16 bytes in two groups of 8, printable ASCII. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = [...bytes.subarray(off, off + 16)];
    const cells = row.map(hex2);
    const left = cells.slice(0, 8).join(' ');
    const right = cells.slice(8).join(' ');
    const ascii = row.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${off.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines.join('\n');
}

/** Parses the hex columns of {@link hexDump} output back into bytes. */
export function parseHexDump(dump: string): Uint8Array {
  const out: number[] = [];
  for (const line of dump.split('\n')) {
    const m = /^([0-9a-f]{8}) {2}(.{23}) {2}(.{23}) {2}\|/.exec(line);
    if (!m) throw new Error(`not a hex dump line: ${line}`);
    if (Number.parseInt(m[1]!, 16) !== out.length) throw new Error(`offset out of order: ${line}`);
    for (const cell of `${m[2]} ${m[3]}`.trim().split(/\s+/)) out.push(Number.parseInt(cell, 16));
  }
  return new Uint8Array(out);
}

// ---- annotation --------------------------------------------------------------

const COLUMN = 56;

function line(depth: number, bytes: Uint8Array, what: string): string[] {
  const out: string[] = [];
  const indent = '  '.repeat(depth);
  for (let i = 0; i < Math.max(1, bytes.length); i += 16) {
    const cells = [...bytes.subarray(i, i + 16)].map(hex2).join(' ');
    out.push(i === 0 ? `${(indent + cells).padEnd(COLUMN)}${what}` : indent + cells);
  }
  return out;
}

/** Walks one MessagePack value and explains every byte, nested values indented. */
function annotateMsgpack(b: Uint8Array): string[] {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: string[] = [];
  let p = 0;
  const take = (n: number) => {
    const s = b.subarray(p, p + n);
    if (s.length !== n) throw new Error('truncated msgpack');
    p += n;
    return s;
  };
  const str = (depth: number, start: number, head: number, len: number, kind: string, role: string) => {
    const body = take(len);
    const text = new TextDecoder().decode(body);
    out.push(
      ...line(depth, b.subarray(start, start + head + len), `${kind}(${len}) ${JSON.stringify(text)}${role}`),
    );
  };
  const value = (depth: number, role: string): void => {
    const start = p;
    const tag = take(1)[0]!;
    const u8 = () => take(1)[0]!;
    const u16 = () => view.getUint16(take(2).byteOffset - b.byteOffset);
    const u32 = () => view.getUint32(take(4).byteOffset - b.byteOffset);
    const header = (what: string): void => {
      out.push(...line(depth, b.subarray(start, p), `${what}${role}`));
    };
    const map = (n: number, kind: string) => {
      header(`${kind}, ${n} ${n === 1 ? 'entry' : 'entries'}`);
      for (let i = 0; i < n; i++) {
        value(depth + 1, ' (key)');
        value(depth + 1, '');
      }
    };
    const arr = (n: number, kind: string) => {
      header(`${kind}, ${n} items`);
      for (let i = 0; i < n; i++) value(depth + 1, '');
    };
    if (tag <= 0x7f) return header(`positive fixint ${tag}`);
    if (tag >= 0xe0) return header(`negative fixint ${tag - 0x100}`);
    if (tag >= 0x80 && tag <= 0x8f) return map(tag & 0x0f, 'fixmap');
    if (tag >= 0x90 && tag <= 0x9f) return arr(tag & 0x0f, 'fixarray');
    if (tag >= 0xa0 && tag <= 0xbf) return str(depth, start, 1, tag & 0x1f, 'fixstr', role);
    switch (tag) {
      case 0xc0:
        return header('nil');
      case 0xc2:
        return header('false');
      case 0xc3:
        return header('true');
      case 0xcc:
        u8();
        return header(`uint8 ${b[p - 1]}`);
      case 0xcd:
        return header(`uint16 ${u16()}`);
      case 0xce:
        return header(`uint32 ${u32()}`);
      case 0xd0:
        take(1);
        return header(`int8 ${view.getInt8(p - 1)}`);
      case 0xd1:
        take(2);
        return header(`int16 ${view.getInt16(p - 2)}`);
      case 0xd2:
        take(4);
        return header(`int32 ${view.getInt32(p - 4)}`);
      case 0xca:
        take(4);
        return header(`float32 ${view.getFloat32(p - 4)}`);
      case 0xcb:
        take(8);
        return header(`float64 ${view.getFloat64(p - 8)}`);
      case 0xd9:
        return str(depth, start, 2, u8(), 'str8', role);
      case 0xda:
        return str(depth, start, 3, u16(), 'str16', role);
      case 0xdc:
        return arr(u16(), 'array16');
      case 0xde:
        return map(u16(), 'map16');
      default:
        throw new Error(`the examples use no msgpack type 0x${hex2(tag)}`);
    }
  };
  value(0, '');
  if (p !== b.length) throw new Error('trailing bytes');
  return out;
}

/** Splits a JSON frame into its top-level members and shows the bytes of each. */
function annotateJson(message: object, b: Uint8Array): string[] {
  const enc = new TextEncoder();
  const parts = [
    '{',
    ...Object.entries(message).map(([k, v], i) => `${i ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(v)}`),
    '}',
  ];
  if (parts.join('') !== new TextDecoder().decode(b))
    throw new Error('JSON frame is not the plain member list');
  const out: string[] = [];
  for (const part of parts) out.push(...line(0, enc.encode(part), part));
  return out;
}

/** The Markdown block for one example, markers included. */
export function renderExample(ex: Example): string {
  const bytes = frameBytes(ex.codec, ex.message);
  const frame = ex.codec.binary ? 'binary frame' : 'text frame';
  const notes = ex.codec.name === 'msgpack' ? annotateMsgpack(bytes) : annotateJson(ex.message, bytes);
  return [
    `<!-- example:${ex.name} -->`,
    `**${ex.title}** — \`${ex.codec.subprotocol}\`, ${ex.direction}, ${frame} of ${bytes.length} bytes. The message, as JSON:`,
    '',
    '```text',
    JSON.stringify(ex.message),
    '```',
    '',
    'Bytes on the wire:',
    '',
    '```text',
    hexDump(bytes),
    '```',
    '',
    'Annotated:',
    '',
    '```text',
    ...notes,
    '```',
    `<!-- /example:${ex.name} -->`,
  ].join('\n');
}

export const DOC_PATH = fileURLToPath(new URL('../../docs/protocol.md', import.meta.url));

/** Replaces every example block in `doc` with its freshly rendered form. */
export function rewriteDoc(doc: string): string {
  let out = doc;
  for (const ex of EXAMPLES) {
    const open = `<!-- example:${ex.name} -->`;
    const close = `<!-- /example:${ex.name} -->`;
    const a = out.indexOf(open);
    const z = out.indexOf(close);
    if (a < 0 || z < a) throw new Error(`docs/protocol.md has no block ${open} … ${close}`);
    out = out.slice(0, a) + renderExample(ex) + out.slice(z + close.length);
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--write')) {
    writeFileSync(DOC_PATH, rewriteDoc(readFileSync(DOC_PATH, 'utf8')));
    console.log(`rewrote ${EXAMPLES.length} example blocks in ${DOC_PATH}`);
  } else {
    console.log(EXAMPLES.map(renderExample).join('\n\n'));
  }
}
