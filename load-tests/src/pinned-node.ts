import { type ChildProcess, spawn } from 'node:child_process';

/**
 * A Shutter node (`server/src/main.ts` under tsx, from `root`) pinned to
 * CPU `cpu` with `taskset` (which execs node in place, so the child's pid
 * is the node's), on 127.0.0.1:`port` with `env` over this process's and
 * the benchmarks' common settings. `started` gets the child at once (for
 * clean-up even if it never becomes ready); resolves once `/readyz`
 * answers, within 60 s.
 */
export async function startPinnedNode(o: {
  root: string;
  cpu: string;
  port: number;
  env: Record<string, string>;
  started?: (child: ChildProcess) => void;
}): Promise<ChildProcess> {
  const c = spawn(
    'taskset',
    ['-c', o.cpu, process.execPath, '--conditions=source', '--import', 'tsx', 'server/src/main.ts'],
    {
      cwd: o.root,
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(o.port),
        LOG_LEVEL: 'warn',
        NODE_ENV: 'test',
        ...o.env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  o.started?.(c);
  const end = Date.now() + 60_000;
  for (;;) {
    if (c.exitCode !== null) throw new Error('the node exited');
    try {
      if ((await fetch(`http://127.0.0.1:${o.port}/readyz`)).ok) return c;
    } catch {}
    if (Date.now() > end) throw new Error('the node did not become ready');
    await new Promise((r) => setTimeout(r, 200));
  }
}
