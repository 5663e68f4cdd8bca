import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One line a node process printed: JSON objects with an `event` field, or raw text. */
export type NodeEvent = { event: string; [k: string]: unknown };

export interface NodeProcessOptions {
  /** A TypeScript or JavaScript entry; run with `node --conditions=source --import tsx`. */
  entry: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Called for every stdout line (parsed when JSON) and every stderr line (as `{event: 'stderr', line}`). */
  onEvent?: (e: NodeEvent) => void;
  /** How long `ready` may take. Default 30 s. */
  readyTimeoutMs?: number;
  /** Which line means "ready". Default: `{"event":"ready",…}`. */
  readyWhen?: (e: NodeEvent) => boolean;
}

/**
 * A child node process that announces itself with a `{"event":"ready",…}`
 * line on stdout. Used by `npm run cluster`, the integration tests and the
 * cluster benchmark.
 */
export class NodeProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<NodeEvent>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly events: NodeEvent[] = [];

  constructor(options: NodeProcessOptions) {
    this.child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', options.entry, ...(options.args ?? [])],
      {
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const record = (e: NodeEvent) => {
      this.events.push(e);
      options.onEvent?.(e);
    };
    const readyWhen = options.readyWhen ?? ((e: NodeEvent) => e.event === 'ready');
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.entry} not ready in time`)),
        options.readyTimeoutMs ?? 30_000,
      );
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        const e = parseLine(line);
        record(e);
        if (readyWhen(e)) {
          clearTimeout(timer);
          resolve(e);
        }
      });
      createInterface({ input: this.child.stderr! }).on('line', (line) => record({ event: 'stderr', line }));
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${options.entry} exited before ready (code ${code}, signal ${signal})`));
      });
    });
    // A rejection nobody awaits (exit after ready) must not crash the parent.
    this.ready.catch(() => {});
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(sig);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

function parseLine(line: string): NodeEvent {
  if (line.startsWith('{')) {
    try {
      const v = JSON.parse(line) as unknown;
      if (typeof v === 'object' && v !== null && typeof (v as NodeEvent).event === 'string')
        return v as NodeEvent;
    } catch {
      // Not JSON after all: keep it as text.
    }
  }
  return { event: 'log', line };
}
