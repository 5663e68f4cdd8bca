import { inspect } from 'node:util';
import { type Config, ConfigError, loadConfig } from './config/index.js';
import { startNode } from './node.js';

/** `npm start`: one node on the settings in the environment (embedded defaults when unset). */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const p of e.problems) process.stderr.write(`config: ${p}\n`);
      process.exit(2);
    }
    throw e;
  }
  const node = await startNode(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    node.log.info({ signal }, 'shutting down');
    const force = setTimeout(
      () => process.exit(1),
      config.gateway.shutdownDelayMs + config.gateway.drainMs + 5000,
    );
    force.unref();
    node.shutdown({ readyDelayMs: config.gateway.shutdownDelayMs }).then(
      () => process.exit(0),
      (err: unknown) => {
        node.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  // `npm start` execs this process (package.json), so the signal npm forwards
  // reaches it: a shell left between npm and node dies of it and leaves node running.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  const why =
    err instanceof Error ? err.message : inspect(err, { depth: 2, breakLength: Number.POSITIVE_INFINITY });
  process.stderr.write(`shutter: could not start: ${why}\n`);
  process.exit(1);
});
