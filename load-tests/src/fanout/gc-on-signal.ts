import { appendFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

/**
 * Preloaded (`--import`) into every server under test together with
 * `--expose-gc`: on SIGUSR2 runs a full collection and then V8's last-resort
 * one (which also shrinks the young generation back, as V8's memory reducer
 * does some seconds after a busy phase), so RSS read afterwards
 * holds what the sockets retain, not garbage left by the handshakes; then
 * appends `process.memoryUsage()` as one JSON line to BENCH_MEMORY_FILE (if
 * set) for the JS heap / native split, with the young generation's size
 * (`newSpace`: V8 grows it under load and gives it back only when its memory
 * reducer runs, seconds after a busy phase; up to 32 MB of RSS that no
 * socket holds). Loaded into the raw servers and
 * Shutter alike; it changes no server code.
 */
const gc = (globalThis as { gc?: (o?: { type: string; execution: string; flavor: string }) => void }).gc;
const file = process.env.BENCH_MEMORY_FILE;
process.on('SIGUSR2', () => {
  gc?.();
  gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  if (!file) return;
  try {
    const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    appendFileSync(file, `${JSON.stringify({ ...process.memoryUsage(), newSpace: newSpace?.space_size })}\n`);
  } catch {
    // At the open-file limit even this fails; the RSS from /proc still stands.
  }
});
