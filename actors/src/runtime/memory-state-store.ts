import { StaleEpoch, VersionConflict } from './errors.js';
import {
  assertOnePerActor,
  assertStorableName,
  type SaveOutcome,
  type StateStore,
  type StateWrite,
  type StoredState,
  saveOne,
  stateJson,
} from './state-store.js';

/**
 * `StateStore` in process memory. States are kept as JSON text, so what comes
 * back is a fresh copy with the same JSON round trip a database would give.
 * Every call resolves on a later microtask, as real I/O would.
 */
export class MemoryStateStore implements StateStore {
  private readonly rows = new Map<string, { json: string; version: number; epoch: number }>();
  private readonly fences = new Map<number, number>();
  /** Transactions run so far (one per `save`, `saveBatch` and `fence`); tests read it. */
  transactions = 0;
  /** Set to make every following call reject with it (tests of failure paths). */
  failWith: Error | undefined;

  async load(type: string, id: string): Promise<StoredState | undefined> {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    assertStorableName(type, id);
    const row = this.rows.get(key(type, id));
    return row && { state: JSON.parse(row.json), version: row.version, epoch: row.epoch };
  }

  save(write: StateWrite): Promise<number> {
    return saveOne(this, write);
  }

  async saveBatch(writes: readonly StateWrite[]): Promise<SaveOutcome[]> {
    assertOnePerActor(writes);
    // Serialize before the await: the caller may change its objects afterwards.
    const docs = writes.map(stateJson);
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    this.transactions++;
    // As Postgres does: a name a text column cannot hold fails the whole transaction.
    for (const w of writes) assertStorableName(w.type, w.id);
    // As in SQL: the batch first raises each shard's fence to the highest epoch
    // it carries, then every write is checked against that fence.
    for (const w of writes) if (w.epoch > (this.fences.get(w.shard) ?? 0)) this.fences.set(w.shard, w.epoch);
    return writes.map((w, i) => this.apply(w, docs[i] ?? 'null'));
  }

  async fence(shard: number, epoch: number): Promise<void> {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    this.transactions++;
    const seen = this.fences.get(shard) ?? 0;
    if (epoch < seen) throw new StaleEpoch(shard, epoch, seen);
    this.fences.set(shard, epoch);
  }

  private apply(w: StateWrite, json: string): SaveOutcome {
    const seen = this.fences.get(w.shard) ?? 0;
    if (w.epoch < seen) return { ok: false, error: new StaleEpoch(w.shard, w.epoch, seen) };
    const k = key(w.type, w.id);
    const current = this.rows.get(k)?.version ?? 0;
    if (current !== w.expectedVersion) {
      return { ok: false, error: new VersionConflict(w.type, w.id, w.expectedVersion, current) };
    }
    const version = current + 1;
    this.rows.set(k, { json, version, epoch: w.epoch });
    return { ok: true, version };
  }
}

function key(type: string, id: string): string {
  return `${type}\u0000${id}`;
}
