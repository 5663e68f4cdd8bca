import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { fastreadBinary, NativeReader } from './native-reader.js';

const hasCc = (() => {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** An unmasked server frame (FIN set), payload under 126 bytes. */
const frame = (opcode: number, payload: string) =>
  Buffer.concat([Buffer.from([0x80 | opcode, Buffer.byteLength(payload)]), Buffer.from(payload)]);

describe('fastread (NativeReader) with engineIo', () => {
  it.skipIf(!hasCc)('answers Engine.IO pings with a masked 3 and counts only the other frames', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    await once(client, 'connect');
    const [peer] = await accepted;
    const fromReader: Buffer[] = [];
    peer.on('data', (d: Buffer) => fromReader.push(d));
    const samples: string[] = [];
    const reader = new NativeReader(
      fastreadBinary(),
      [client],
      (_s, _f, _at, p) => samples.push(p.toString()),
      true,
    );
    try {
      await reader.reset(1);
      peer.write(
        Buffer.concat([
          frame(1, '2'),
          frame(1, '42["ev",{"seq":1}]'),
          frame(1, '2'),
          frame(1, '42["ev",{"seq":2}]'),
        ]),
      );
      const deadline = Date.now() + 5000;
      while ((samples.length < 2 || Buffer.concat(fromReader).length < 14) && Date.now() < deadline)
        await sleep(10);
      expect(samples).toEqual(['42["ev",{"seq":1}]', '42["ev",{"seq":2}]']);
      const pongs = Buffer.concat(fromReader);
      expect([...pongs]).toEqual([0x81, 0x81, 0, 0, 0, 0, 0x33, 0x81, 0x81, 0, 0, 0, 0, 0x33]);
      expect((await reader.report()).frames).toBe(2);
    } finally {
      reader.close();
      peer.destroy();
      client.destroy();
      server.close();
    }
  });
});
