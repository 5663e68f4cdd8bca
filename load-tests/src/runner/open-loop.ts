import { performance } from 'node:perf_hooks';
import { Hdr } from './hdr.js';

/**
 * Calls `send` `rate` times a second for `seconds`, on schedule whatever the
 * answers do (open loop: it sleeps until the next call is due, then sends
 * every call due by then), and records
 * each call's latency from its SCHEDULED time, so a stall counts against
 * every call it delayed (no coordinated omission). `send(i)` gets the call's
 * number. Resolves once every call has settled.
 */
export async function openLoop(
  rate: number,
  seconds: number,
  send: (i: number) => Promise<unknown>,
): Promise<{ h: Hdr; failed: number; sent: number }> {
  const h = new Hdr();
  let failed = 0;
  let sent = 0;
  const inflight = new Set<Promise<void>>();
  const t0 = performance.now();
  const total = Math.round(rate * seconds);
  while (sent < total) {
    // Call i is due at i / rate: the calls due by now are those with i <= elapsed × rate.
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const at = t0 + (sent / rate) * 1000;
      const p = send(sent).then(
        () => h.record(performance.now() - at),
        () => {
          failed++;
        },
      );
      inflight.add(p);
      void p.then(() => inflight.delete(p));
    }
    const next = t0 + (sent / rate) * 1000 - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, next)));
  }
  await Promise.all(inflight);
  return { h, failed, sent };
}
