import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Hermes before React Native 0.85 has no TextDecoder (and before 0.74 no
// TextEncoder). The SDK must still load there, and JSON text frames and ASCII
// msgpack must still work; non-ASCII msgpack needs a polyfill and says so.
const wire = fileURLToPath(new URL('../src/wire.ts', import.meta.url));
const script = `
delete globalThis.TextDecoder;
delete globalThis.TextEncoder;
const w = await import(${JSON.stringify(wire)});
const m = { t: 'ev', stream: 'topic:demo', epoch: 'e1', seq: 3, data: { hello: 'world' }, ts: 1765000000000 };
const out = {};
out.json = w.jsonWireCodec.decode(w.jsonWireCodec.encode(m));
out.msgpack = w.msgpackWireCodec.decode(w.msgpackWireCodec.encode(m));
try { w.msgpackWireCodec.decode(Uint8Array.from([0xa2, 0xc3, 0xa9])); out.nonAscii = 'decoded'; }
catch (e) { out.nonAscii = e.constructor.name + ': ' + e.message; }
console.log(JSON.stringify(out));
`;

describe('the wire entry on a platform without TextEncoder/TextDecoder', () => {
  it('loads, round-trips JSON and ASCII msgpack frames, and names the missing TextDecoder otherwise', () => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    const r = JSON.parse(out) as Record<string, unknown>;
    const m = {
      t: 'ev',
      stream: 'topic:demo',
      epoch: 'e1',
      seq: 3,
      data: { hello: 'world' },
      ts: 1765000000000,
    };
    expect(r.json).toEqual(m);
    expect(r.msgpack).toEqual(m);
    expect(r.nonAscii).toMatch(/^ReferenceError: TextDecoder is not defined/);
  }, 30_000);
});
