import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { LeanSocket } from './lean-ws.js';

/** An unmasked server frame (FIN set) with a 7-bit, 16-bit or 64-bit length. */
function frame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head =
    n < 126
      ? Buffer.from([0x80 | opcode, n])
      : n < 65_536
        ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), Buffer.alloc(8)]);
  if (n >= 65_536) head.writeBigUInt64BE(BigInt(n), 2);
  return Buffer.concat([head, payload]);
}

let server: Server | undefined;
afterEach(() => server?.close());

/** A server that answers the upgrade, then writes `bytes` in pieces of `piece(at)` bytes, each its own TCP segment. */
async function serve(
  bytes: Buffer,
  piece: (at: number) => number,
): Promise<{ url: string; got: Promise<Buffer>; all: () => Buffer }> {
  let resolveGot: (b: Buffer) => void = () => undefined;
  const got = new Promise<Buffer>((r) => {
    resolveGot = r;
  });
  const received: Buffer[] = [];
  server = createServer((s: Socket) => {
    s.setNoDelay(true);
    let head = '';
    s.on('data', async (d: Buffer) => {
      if (!head.includes('\r\n\r\n')) {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        for (let at = 0, n = piece(0); at < bytes.length; at += n, n = piece(at)) {
          s.write(bytes.subarray(at, at + n));
          await sleep(1);
        }
        return;
      }
      received.push(d);
      resolveGot(Buffer.concat(received));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address() as { port: number };
  return { url: `ws://127.0.0.1:${addr.port}/ws`, got, all: () => Buffer.concat(received) };
}

describe('LeanSocket', () => {
  it('counts frames split anywhere across reads and hands on the payloads asked for', async () => {
    const payloads = [
      Buffer.from('a'),
      Buffer.alloc(300, 7),
      Buffer.alloc(0),
      Buffer.alloc(70_000, 9),
      Buffer.from('zz'),
    ];
    const bytes = Buffer.concat([
      frame(2, payloads[0]!),
      frame(1, payloads[1]!),
      frame(9, Buffer.from('p')), // a ping: answered, not counted
      frame(2, payloads[2]!),
      frame(2, payloads[3]!),
      frame(2, payloads[4]!),
    ]);
    // Pieces of 3 bytes split every header and payload; the 70 000-byte frame goes in larger ones, then 3 again.
    const big = bytes.length - frame(2, payloads[4]!).length;
    const { url, got } = await serve(bytes, (at) => (at > 400 && at < big - 100 ? 8192 : 3));
    const seen: { opcode: number; payload: Buffer | undefined }[] = [];
    let n = 0;
    const done = new Promise<void>((r) => {
      LeanSocket.open(url, ['v1.msgpack'], undefined, {
        wantPayload: () => n++ % 2 === 1,
        onFrame: (opcode, payload) => {
          seen.push({ opcode, payload });
          if (seen.length === 5) r();
        },
        onClose: () => undefined,
      });
    });
    await done;
    expect(seen.map((f) => f.opcode)).toEqual([2, 1, 2, 2, 2]);
    // Asked for every other one (the ping's payload is always read, to answer it).
    expect(seen.map((f) => f.payload?.length)).toEqual([undefined, 300, undefined, 70_000, undefined]);
    expect(seen[3]!.payload!.every((b) => b === 9)).toBe(true);
    // The pong went back masked, with the ping's payload.
    const pong = await got;
    expect(pong[0]).toBe(0x8a);
    expect(pong[1]).toBe(0x80 | 1);
    expect(pong[6]! ^ pong[2]!).toBe('p'.charCodeAt(0));
  });
});

describe('LeanSocket with engineIo (Socket.IO)', () => {
  it('answers each Engine.IO ping (text 2) with a masked text 3 and counts only the other frames', async () => {
    const text = (s: string) => frame(1, Buffer.from(s));
    const bytes = Buffer.concat([
      text('0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000}'),
      text('2'),
      text('42["ev",{"seq":1}]'),
      text('2'),
      text('42["ev",{"seq":2}]'),
    ]);
    const { url, all } = await serve(bytes, () => 5);
    const seen: string[] = [];
    await new Promise<void>((r) => {
      LeanSocket.open(url, [], undefined, {
        wantPayload: () => true,
        onFrame: (_opcode, payload) => {
          seen.push(payload!.toString());
          if (seen.length === 3) r();
        },
        onClose: () => undefined,
        engineIo: true,
      });
    });
    expect(seen).toEqual([
      '0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000}',
      '42["ev",{"seq":1}]',
      '42["ev",{"seq":2}]',
    ]);
    // Two pongs: masked text frames of one byte, `3` under the mask.
    const deadline = Date.now() + 5000;
    while (all().length < 14 && Date.now() < deadline) await sleep(10);
    const pongs = all();
    expect(pongs.length).toBe(14);
    for (const at of [0, 7]) {
      expect(pongs[at]).toBe(0x81);
      expect(pongs[at + 1]).toBe(0x80 | 1);
      expect(pongs[at + 6]! ^ pongs[at + 2]!).toBe('3'.charCodeAt(0));
    }
  });
});
