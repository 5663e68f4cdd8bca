import type { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import * as ws from 'ws';
import { wsFrame } from './ws-engine.js';

// ws's frame parser (exported by the package, not by its type definitions).
const { Receiver } = ws as unknown as { Receiver: new (o: object) => Writable };

/** Parses server frames the way a `ws` client does; returns the messages in order. */
function parse(bytes: Buffer): { data: string; isBinary: boolean }[] {
  const out: { data: string; isBinary: boolean }[] = [];
  const r = new Receiver({ isServer: false, allowSynchronousEvents: true });
  r.on('message', (data: Buffer, isBinary: boolean) =>
    out.push({ data: isBinary ? data.toString('hex') : data.toString('utf8'), isBinary }),
  );
  r.on('error', (e: Error) => {
    throw e;
  });
  r.write(bytes);
  return out;
}

describe('wsFrame (the ws engine frames a published event once)', () => {
  it('frames text and binary of every length class as a ws client reads them, back to back', () => {
    const small = new Uint8Array([1, 2, 3]);
    const mid = 'é'.repeat(200); // 400 bytes of UTF-8: the 16-bit length
    const big = new Uint8Array(70_000).fill(7); // the 64-bit length
    const msgs = parse(Buffer.concat([wsFrame(small), wsFrame(mid), wsFrame(big), wsFrame('')]));
    expect(msgs.map((m) => m.isBinary)).toEqual([true, false, true, false]);
    expect(msgs[0]!.data).toBe('010203');
    expect(msgs[1]!.data).toBe(mid);
    expect(msgs[2]!.data).toBe(Buffer.from(big).toString('hex'));
    expect(msgs[3]!.data).toBe('');
    expect(wsFrame(small)).toEqual(Buffer.from([0x82, 3, 1, 2, 3]));
    expect(wsFrame(mid).subarray(0, 4)).toEqual(Buffer.from([0x81, 126, 400 >> 8, 400 & 0xff]));
  });
});
