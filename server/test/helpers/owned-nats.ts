/**
 * A nats-server (JetStream) that a test owns: started on a port of its own,
 * killed and restarted by the test, on the same store directory (an outage)
 * or on a fresh, empty one (the server lost its store). Ports come from the
 * range the fault tests were given (14220–14239); store directories live
 * under one mkdtemp directory, removed by `destroy`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NATS_SERVER = process.env.TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

export class OwnedNats {
  private proc: ChildProcess | undefined;
  private readonly root = mkdtempSync(join(tmpdir(), 'shutter-owned-nats-'));
  private stores = 0;
  storeDir = '';
  port = 0;

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Picks the first free port of [from, to] and starts there on a fresh store. */
  async start(range: [number, number] = [14220, 14239]): Promise<void> {
    for (let p = range[0]; p <= range[1] && !this.port; p++) if (await isFree(p)) this.port = p;
    if (!this.port) throw new Error(`no free port in ${range[0]}–${range[1]}`);
    await this.restart({ freshStore: true });
  }

  /** Starts the server again: on the same store (an outage) or a new, empty one (the store was lost). */
  async restart(options: { freshStore?: boolean } = {}): Promise<void> {
    if (this.proc) throw new Error('nats-server is running');
    if (options.freshStore || !this.storeDir) this.storeDir = join(this.root, `store-${++this.stores}`);
    const proc = spawn(
      NATS_SERVER,
      ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir],
      {
        stdio: 'ignore',
      },
    );
    this.proc = proc;
    proc.once('exit', () => {
      if (this.proc === proc) this.proc = undefined;
    });
    const end = Date.now() + 10_000;
    while (!(await accepts(this.port))) {
      if (Date.now() > end) throw new Error(`nats-server did not listen on ${this.port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Kills the server (SIGKILL by default: a crash) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    await exited;
    this.proc = undefined;
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.root, { recursive: true, force: true });
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
