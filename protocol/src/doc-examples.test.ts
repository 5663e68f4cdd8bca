import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOC_PATH, EXAMPLES, frameBytes, parseHexDump, renderExample } from '../scripts/examples.js';
import { validateClientMessage, validateServerMessage } from './validate.js';

const doc = readFileSync(DOC_PATH, 'utf8');

/** The text between an example's markers in docs/protocol.md, markers included. */
function block(name: string): string {
  const open = `<!-- example:${name} -->`;
  const close = `<!-- /example:${name} -->`;
  const a = doc.indexOf(open);
  const z = doc.indexOf(close);
  if (a < 0 || z < a) throw new Error(`docs/protocol.md has no example block ${name}`);
  if (doc.indexOf(open, a + 1) >= 0) throw new Error(`docs/protocol.md has example block ${name} twice`);
  return doc.slice(a, z + close.length);
}

/** The first fenced ```text block after `label` inside an example block. */
function fenced(text: string, label: string): string {
  const m = new RegExp(`${label}\\n\\n\`\`\`text\\n([\\s\\S]*?)\\n\`\`\``).exec(text);
  if (!m) throw new Error(`no ${label} section`);
  return m[1]!;
}

describe('byte examples in docs/protocol.md', () => {
  it.each(
    EXAMPLES.map((e) => [e.name, e] as const),
  )('%s: the hex dump is what the codec produces', (name, ex) => {
    const text = block(name);
    const documented = parseHexDump(fenced(text, 'Bytes on the wire:'));
    const encoded = frameBytes(ex.codec, ex.message);
    expect(Buffer.from(documented).toString('hex')).toBe(Buffer.from(encoded).toString('hex'));
    // The documented bytes decode back to the documented message, and it is valid.
    const frame = ex.codec.binary ? documented : new TextDecoder().decode(documented);
    const decoded = ex.codec.decode(frame);
    expect(decoded).toEqual(ex.message);
    const v =
      ex.direction === 'client → server' ? validateClientMessage(decoded) : validateServerMessage(decoded);
    expect(v.ok).toBe(true);
  });

  it.each(
    EXAMPLES.map((e) => [e.name, e] as const),
  )('%s: the whole block (text, hex, annotation) is current', (name, ex) => {
    // If this fails after a codec change, run:
    //   node --conditions=source --import tsx protocol/scripts/examples.ts --write
    expect(block(name)).toBe(renderExample(ex));
  });

  it('covers both codecs in both directions', () => {
    const kinds = new Set(EXAMPLES.map((e) => `${e.codec.name} ${e.direction}`));
    expect(kinds).toEqual(
      new Set([
        'msgpack client → server',
        'msgpack server → client',
        'json client → server',
        'json server → client',
      ]),
    );
  });
});
