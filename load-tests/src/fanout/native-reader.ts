import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The native receiving path (load-tests/native/fastread.c): a client
 * process hands its connected, subscribed sockets to it, and it counts
 * their frames and passes a sample back for Node to decode. Node alone
 * spends about twice the server's CPU per frame read (a `data` callback per
 * TCP read), so it cannot out-run a raw uWS server; this can.
 */
const SOURCE = fileURLToPath(new URL('../../native/fastread.c', import.meta.url));

export interface NativeReport {
  frames: number;
  reads: number;
  closed: number;
  cpuSeconds: number;
}

export type OnSample = (socket: number, frame: number, arrivedAt: number, payload: Buffer) => void;

/** Builds fastread once per version of its source (cached in the temp directory); throws without a C compiler. */
export function fastreadBinary(): string {
  const src = readFileSync(SOURCE);
  const out = join(tmpdir(), `shutter-fastread-${createHash('sha1').update(src).digest('hex').slice(0, 12)}`);
  if (!existsSync(out)) {
    const tmp = `${out}.${process.pid}`;
    execFileSync('cc', ['-O2', '-o', tmp, SOURCE], { stdio: 'inherit' });
    renameSync(tmp, out);
  }
  return out;
}

export class NativeReader {
  private readonly child: ChildProcess;
  private buf = Buffer.alloc(0);
  private readonly waiting: ((r: NativeReport) => void)[] = [];

  /**
   * Takes `sockets` over: Node stops reading them, fastread reads them from now on. `engineIo`:
   * the sockets speak Engine.IO (Socket.IO), whose pings (text `2`) fastread answers (`3`).
   */
  constructor(
    binary: string,
    sockets: Socket[],
    private readonly onSample: OnSample,
    engineIo = false,
  ) {
    for (const s of sockets) {
      s.removeAllListeners('data');
      s.pause();
      // pause() alone lets Node read on until its buffer is full: stop the handle itself.
      (s as unknown as { _handle?: { readStop(): number; reading: boolean } })._handle?.readStop();
    }
    this.child = spawn(binary, [String(sockets.length), ...(engineIo ? ['eio'] : [])], {
      stdio: ['pipe', 'pipe', 'inherit', ...sockets],
    });
    this.child.stdout!.on('data', (d: Buffer) => this.onData(d));
  }

  reset(sampleEvery: number): Promise<NativeReport> {
    return this.ask(`reset ${sampleEvery}`);
  }

  report(): Promise<NativeReport> {
    return this.ask('report');
  }

  close(): void {
    this.child.stdin!.end('quit\n');
  }

  private ask(cmd: string): Promise<NativeReport> {
    return new Promise((resolve, reject) => {
      if (this.child.exitCode !== null)
        return reject(new Error(`fastread exited with ${this.child.exitCode}`));
      this.waiting.push(resolve);
      this.child.stdin!.write(`${cmd}\n`);
    });
  }

  private onData(d: Buffer): void {
    let b = this.buf.length > 0 ? Buffer.concat([this.buf, d]) : d;
    let at = 0;
    for (;;) {
      const tag = b[at];
      if (tag === 0x53) {
        // 'S' u32 socket, u32 frame, f64 arrival, u32 length, payload
        if (b.length - at < 21) break;
        const len = b.readUInt32LE(at + 17);
        if (b.length - at < 21 + len) break;
        this.onSample(
          b.readUInt32LE(at + 1),
          b.readUInt32LE(at + 5),
          b.readDoubleLE(at + 9),
          b.subarray(at + 21, at + 21 + len),
        );
        at += 21 + len;
      } else if (tag === 0x52) {
        // 'R' u64 frames, u64 reads, u32 closed, f64 CPU seconds
        if (b.length - at < 29) break;
        const r: NativeReport = {
          frames: Number(b.readBigUInt64LE(at + 1)),
          reads: Number(b.readBigUInt64LE(at + 9)),
          closed: b.readUInt32LE(at + 17),
          cpuSeconds: b.readDoubleLE(at + 21),
        };
        at += 29;
        this.waiting.shift()?.(r);
      } else if (tag === undefined) break;
      else throw new Error(`fastread: unexpected record ${tag}`);
    }
    b = b.subarray(at);
    // Keep a copy: the samples handed on were decoded synchronously.
    this.buf = b.length > 0 ? Buffer.from(b) : Buffer.alloc(0);
  }
}
