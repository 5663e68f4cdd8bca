import { StateRejected } from './errors.js';
import type { SaveOutcome, StateStore, StateWrite } from './state-store.js';

/** What `saveIsolating` did beyond the first transaction (stats, tests). */
export interface IsolationCounts {
  /** Batches whose transaction failed and were split. */
  splits: number;
  /** Extra transactions run to find the writes that failed. */
  extraTransactions: number;
  /** Writes refused on their own (`state_rejected`). */
  isolated: number;
}

function isDataError(e: unknown): boolean {
  return e instanceof StateRejected || (e as { code?: unknown } | null)?.code === 'state_rejected';
}

/**
 * `store.saveBatch(writes)`, except that a failed transaction does not fail
 * every write in it. One write the store can never take (a data error: a name
 * Postgres refuses) would otherwise fail its whole group-commit batch, every
 * member would be retried, and the poisoned write would rejoin, and fail, the
 * next batch until its deadline.
 *
 * When the batch's transaction fails, it is bisected: each half is tried as a
 * transaction of its own and a failing half is split again, so k bad writes
 * among n cost about 2·k·log2(n) extra transactions and every good write
 * commits. A write whose own transaction fails gets the outcome
 * `StateRejected` (not retryable) when the store said its data is at fault or
 * when another write of the batch committed meanwhile (so the store is up and
 * this write is the problem). When the error is not a data error and both
 * halves fail with nothing committed, the store itself is failing: the
 * original error is thrown, as before, and the runtime retries every write.
 */
export async function saveIsolating(
  store: Pick<StateStore, 'saveBatch'>,
  writes: readonly StateWrite[],
  counts?: IsolationCounts,
): Promise<SaveOutcome[]> {
  let first: unknown;
  try {
    return await store.saveBatch(writes);
  } catch (e) {
    first = e;
  }
  const data = isDataError(first);
  if (writes.length === 1) {
    if (!data) throw first;
    if (counts) counts.isolated++;
    return [{ ok: false, error: asRejected(first, writes[0] as StateWrite) }];
  }
  if (counts) counts.splits++;
  const out: Array<SaveOutcome | undefined> = new Array(writes.length);
  const alone: Array<{ index: number; error: unknown }> = [];
  let committed = false;

  // `ws` (at `offset` in `writes`) failed as one transaction: find out which of its writes did.
  // Both halves are tried before either is split further, so the top level can tell a failing
  // store (both halves fail, nothing commits, no data error) from a failing write.
  const split = async (
    ws: readonly StateWrite[],
    offset: number,
    err: unknown,
    top: boolean,
  ): Promise<void> => {
    if (ws.length === 1) {
      alone.push({ index: offset, error: err });
      return;
    }
    const mid = ws.length >> 1;
    const failed: Array<{ part: readonly StateWrite[]; at: number; error: unknown }> = [];
    for (const [part, at] of [
      [ws.slice(0, mid), offset],
      [ws.slice(mid), offset + mid],
    ] as const) {
      if (counts) counts.extraTransactions++;
      try {
        const res = await store.saveBatch(part);
        for (let i = 0; i < res.length; i++) out[at + i] = res[i];
        committed = true;
      } catch (e) {
        failed.push({ part, at, error: e });
      }
    }
    if (top && !committed && !failed.some((f) => isDataError(f.error))) throw first; // the store is down
    for (const f of failed) await split(f.part, f.at, f.error, false);
  };
  await split(writes, 0, first, true);

  for (const { index, error } of alone) {
    if (!committed && !isDataError(error)) throw first;
    if (counts) counts.isolated++;
    out[index] = { ok: false, error: asRejected(error, writes[index] as StateWrite) };
  }
  return out.map((o) => {
    if (!o) throw new Error('unreachable: every write has an outcome');
    return o;
  });
}

function asRejected(e: unknown, w: StateWrite): StateRejected {
  if (e instanceof StateRejected) return e;
  return new StateRejected(
    `the write of ${w.type}/${JSON.stringify(w.id)} failed on its own while the rest of its batch committed`,
    { cause: e },
  );
}
