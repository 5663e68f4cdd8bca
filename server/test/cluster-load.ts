import { uuidv7 } from '@shutter/actors';
import type { AskRequest, TestNode } from './cluster-harness.js';

export interface LoadResult {
  /** Increments acknowledged per counter (each key exactly once). */
  acked: Map<string, number>;
  /** Attempts that failed and were sent again with the same key. */
  retried: number;
  elapsedMs: number;
}

/**
 * Sends `total` increments spread over `counters`, in batches through the
 * live nodes (round robin), `concurrency` batches in flight. Every increment
 * carries an idempotency key and is sent again (same key, another node) until
 * acknowledged, as a careful client would. `onProgress` sees the count sent.
 */
export async function runIncrements(options: {
  total: number;
  counters: string[];
  nodes: () => TestNode[];
  concurrency?: number;
  batch?: number;
  prefix: string;
  onProgress?: (sent: number) => void;
  deadlineMs?: number;
}): Promise<LoadResult> {
  const { total, counters, prefix } = options;
  const batch = options.batch ?? 10;
  const start = Date.now();
  const giveUp = start + (options.deadlineMs ?? 90_000);
  const acked = new Map<string, number>();
  let next = 0;
  let retried = 0;
  let rr = 0;
  const worker = async () => {
    while (next < total) {
      const items: AskRequest[] = [];
      for (let i = 0; i < batch && next < total; i++, next++) {
        items.push({
          id: counters[next % counters.length]!,
          msg: 'inc',
          key: `${prefix}:${uuidv7()}`, // time-ordered, made once: every retry of the item sends it again
          timeoutMs: 4000,
        });
      }
      options.onProgress?.(next);
      let pending = items;
      while (pending.length > 0) {
        if (Date.now() > giveUp)
          throw new Error(`increments not acknowledged in time: ${pending.length} left`);
        const live = options.nodes();
        const via = live[rr++ % live.length];
        if (!via) throw new Error('no live node');
        let results: { ok: boolean }[];
        try {
          results = await via.ask(pending);
        } catch {
          results = pending.map(() => ({ ok: false }));
          await new Promise((r) => setTimeout(r, 50));
        }
        const failed: AskRequest[] = [];
        pending.forEach((item, i) => {
          if (results[i]?.ok) acked.set(item.id, (acked.get(item.id) ?? 0) + 1);
          else failed.push(item);
        });
        retried += failed.length;
        pending = failed;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 20 }, worker));
  return { acked, retried, elapsedMs: Date.now() - start };
}

/** Final values as the cluster answers them (through `via`). */
export async function readCounters(via: TestNode, counters: string[]): Promise<Map<string, number>> {
  const results = await via.ask(counters.map((id) => ({ id, msg: 'get' as const, timeoutMs: 10_000 })));
  return new Map(
    counters.map((id, i) => {
      const r = results[i];
      if (!r?.ok) throw new Error(`get ${id} failed: ${JSON.stringify(r)}`);
      return [id, r.value as number];
    }),
  );
}
