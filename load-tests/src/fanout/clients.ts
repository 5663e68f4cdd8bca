import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientCommand, ClientReply } from './ipc.js';

const WORKER = fileURLToPath(new URL('./client-worker.ts', import.meta.url));

/** A group of client processes (forked on the orchestrator's CPU), each answering one reply per command. */
export class ClientGroup {
  private readonly procs: ChildProcess[] = [];

  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      this.procs.push(
        fork(WORKER, [], { execArgv: ['--conditions=source', '--import', 'tsx'], stdio: 'inherit' }),
      );
    }
  }

  get size(): number {
    return this.procs.length;
  }

  /** Sends `cmd(i)` to process i and collects every answer. */
  all<R extends ClientReply>(cmd: (i: number) => ClientCommand | undefined): Promise<R[]> {
    return Promise.all(
      this.procs.map((p, i) => {
        const c = cmd(i);
        if (!c) return undefined as unknown as R;
        return new Promise<R>((resolve, reject) => {
          const onExit = (code: number | null) =>
            reject(new Error(`client process ${i} exited with ${code}`));
          p.once('exit', onExit);
          p.once('message', (m: R) => {
            p.off('exit', onExit);
            resolve(m);
          });
          p.send(c);
        });
      }),
    ).then((rs) => rs.filter((r) => r !== undefined));
  }

  async close(): Promise<void> {
    await this.all(() => ({ cmd: 'close' })).catch(() => undefined);
    await Promise.all(
      this.procs.map((p) =>
        p.exitCode !== null ? undefined : new Promise<void>((r) => p.once('exit', () => r())),
      ),
    );
  }
}
