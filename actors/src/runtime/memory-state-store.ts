import { StaleEpoch, VersionConflict } from './errors.js';
import {
  assertOnePerActor,
  assertStorableName,
  keyRows,
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
  /** The key table: per actor, key → [time, reply JSON]. */
  private readonly keys = new Map<string, Map<string, [at: number, reply: string]>>();
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
    const keyDocs = writes.map(keyRows);
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    this.transactions++;
    // As Postgres does: a name a text column cannot hold fails the whole transaction.
    for (const w of writes) assertStorableName(w.type, w.id);
    // As in SQL: the batch first raises each shard's fence to the highest epoch
    // it carries, then every write is checked against that fence.
    for (const w of writes) if (w.epoch > (this.fences.get(w.shard) ?? 0)) this.fences.set(w.shard, w.epoch);
    return writes.map((w, i) => {
      const o = this.apply(w, docs[i] ?? 'null');
      if (o.ok) this.addKeys(w, keyDocs[i] ?? []);
      return o;
    });
  }

  async lookupKeys(type: string, id: string, keys: readonly string[]): Promise<Map<string, unknown>> {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    assertStorableName(type, id);
    const out = new Map<string, unknown>();
    const table = this.keys.get(key(type, id));
    if (!table) return out;
    for (const k of keys) {
      const row = table.get(k);
      if (row) out.set(k, JSON.parse(row[1]));
    }
    return out;
  }

  async pruneKeys(before: number, limit: number): Promise<number> {
    await Promise.resolve();
    if (this.failWith) throw this.failWith;
    let n = 0;
    for (const [actor, table] of this.keys) {
      for (const [k, [at]] of table) {
        if (n >= limit) return n;
        if (at < before) {
          table.delete(k);
          n++;
        }
      }
      if (table.size === 0) this.keys.delete(actor);
    }
    return n;
  }

  /** Keys held in the key table now, over all actors (tests). */
  get keyCount(): number {
    let n = 0;
    for (const t of this.keys.values()) n += t.size;
    return n;
  }

  private addKeys(w: StateWrite, rows: ReadonlyArray<{ key: string; at: number; reply: string }>): void {
    if (rows.length === 0) return;
    const k = key(w.type, w.id);
    let table = this.keys.get(k);
    if (!table) this.keys.set(k, (table = new Map()));
    // As ON CONFLICT DO NOTHING: a key already stored keeps its first reply.
    for (const r of rows) if (!table.has(r.key)) table.set(r.key, [r.at, r.reply]);
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
