import { appendFileSync } from 'node:fs';

/**
 * Preloaded (`--import`) into every server under test together with
 * `--expose-gc`: on SIGUSR2 runs two full collections, so RSS read afterwards
 * holds what the sockets retain, not garbage left by the handshakes; then
 * appends `process.memoryUsage()` as one JSON line to BENCH_MEMORY_FILE (if
 * set) for the JS heap / native split. Loaded into the raw servers and
 * Shutter alike; it changes no server code.
 */
const gc = (globalThis as { gc?: () => void }).gc;
const file = process.env.BENCH_MEMORY_FILE;
process.on('SIGUSR2', () => {
  gc?.();
  gc?.();
  if (!file) return;
  try {
    appendFileSync(file, `${JSON.stringify(process.memoryUsage())}\n`);
  } catch {
    // At the open-file limit even this fails; the RSS from /proc still stands.
  }
});
