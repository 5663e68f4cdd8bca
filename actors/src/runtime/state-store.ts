import { type StaleEpoch, StateRejected, type VersionConflict } from './errors.js';

/** What the store holds for one actor. `state` is a JSON document. */
export interface StoredState {
  state: unknown;
  /** 1 after the first save, +1 per save. */
  version: number;
  /** The shard epoch of the owner that wrote it last. */
  epoch: number;
}

/**
 * A keyed message's remembered reply: the idempotency key, the time read
 * from it (ms since the epoch; what pruning goes by) and the reply (JSON).
 */
export interface KeyRecord {
  key: string;
  at: number;
  reply: unknown;
}

/** One actor's write. */
export interface StateWrite {
  type: string;
  id: string;
  /** The actor's shard (`Placement.shardOf`), the unit of fencing. */
  shard: number;
  /** The writer's shard epoch (`Placement.locate` → local). */
  epoch: number;
  /** The version the writer last loaded or wrote; 0 when it found nothing. */
  expectedVersion: number;
  /** A JSON-serializable document. */
  state: unknown;
  /**
   * Keys of the messages whose changes this write holds: stored in the key
   * table in the same transaction, if and only if the write is accepted.
   */
  keys?: readonly KeyRecord[];
}

export type SaveOutcome =
  | { ok: true; version: number }
  | { ok: false; error: VersionConflict | StaleEpoch | StateRejected };

/**
 * The actor persistence port. Adapters: `MemoryStateStore` (tests, the
 * single-process default without a database) and `SqlStateStore`
 * (server/src/adapters, PGlite and Postgres). All pass `stateStoreContract`
 * (actors/src/testing).
 *
 * Fencing: the store keeps, per shard, the highest epoch it has seen (from
 * `fence` and from accepted writes). A write or fence whose epoch is lower is
 * rejected with `StaleEpoch`; this is what keeps a partitioned old owner from
 * overwriting what the new owner wrote (DESIGN "At most one live owner").
 *
 * The runtime calls `load`/`save` at most once concurrently per actor, but
 * different actors' calls overlap freely, and several nodes share one store.
 */
export interface StateStore {
  /** The actor's last saved state, or undefined if it was never saved. */
  load(type: string, id: string): Promise<StoredState | undefined>;

  /**
   * Saves one actor if its stored version equals `expectedVersion` and its
   * epoch is not stale. Resolves with the new version (`expectedVersion + 1`);
   * rejects with `VersionConflict` or `StaleEpoch` and changes nothing.
   */
  save(write: StateWrite): Promise<number>;

  /**
   * Saves many actors in one transaction (group commit). Each write is checked
   * on its own, exactly as `save`: the outcome array matches `writes` by index,
   * and a rejected write changes nothing while the others commit. The promise
   * rejects only when the transaction itself fails, and then nothing of the
   * batch is stored. At most one write per actor in a batch (else TypeError).
   */
  saveBatch(writes: readonly StateWrite[]): Promise<SaveOutcome[]>;

  /**
   * Raises the shard's fencing epoch to `epoch` without writing state: a new
   * owner calls it before its first activation in the shard, so from then on
   * the old owner's writes fail. Rejects with `StaleEpoch` if `epoch` is lower
   * than the highest seen; the same epoch again is fine.
   */
  fence(shard: number, epoch: number): Promise<void>;

  /**
   * The key table (idempotency, docs/actor-runtime.md): the remembered
   * replies among `keys` of one actor, by key, as written with accepted
   * writes and not yet pruned. Keys it does not hold are absent.
   */
  lookupKeys(type: string, id: string, keys: readonly string[]): Promise<Map<string, unknown>>;

  /**
   * Deletes at most `limit` keys (of any actor) whose time `at` is below
   * `before`; resolves with how many it deleted (`limit` means there may be
   * more). The runtime calls it in the background with `now - window`.
   */
  pruneKeys(before: number, limit: number): Promise<number>;
}

/**
 * Whether a string can be stored in a database text column: no U+0000 and no
 * lone UTF-16 surrogate (Postgres refuses the first and cannot encode the
 * second in UTF-8). Actor types and ids must be; states are JSON text, where
 * both travel escaped.
 */
export function isStorableText(s: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what we look for
  return !/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** Throws `StateRejected` when an actor's type or id cannot be stored (shared by adapters). */
export function assertStorableName(type: string, id: string): void {
  if (!isStorableText(type) || !isStorableText(id)) {
    throw new StateRejected(
      `actor ${JSON.stringify(type)}/${JSON.stringify(id)}: the name holds U+0000 or a lone surrogate, which the store cannot hold`,
    );
  }
}

/**
 * The write's state as JSON text; a state JSON cannot hold (a BigInt, a
 * cycle) is a data error like any other: `StateRejected` (shared by adapters).
 */
export function stateJson(w: StateWrite): string {
  try {
    return JSON.stringify(w.state) ?? 'null';
  } catch (e) {
    throw new StateRejected(`the state of ${w.type}/${JSON.stringify(w.id)} is not JSON-serializable`, {
      cause: e,
    });
  }
}

/** The write's keys with their replies as JSON text; a reply JSON cannot hold is a data error. */
export function keyRows(w: StateWrite): Array<{ key: string; at: number; reply: string }> {
  if (!w.keys || w.keys.length === 0) return [];
  try {
    return w.keys.map((k) => ({ key: k.key, at: k.at, reply: JSON.stringify(k.reply) ?? 'null' }));
  } catch (e) {
    throw new StateRejected(`a reply of ${w.type}/${JSON.stringify(w.id)} is not JSON-serializable`, {
      cause: e,
    });
  }
}

/** Throws a TypeError when a batch names one actor twice (shared by adapters). */
export function assertOnePerActor(writes: readonly StateWrite[]): void {
  const seen = new Set<string>();
  for (const w of writes) {
    const k = `${w.type}\u0000${w.id}`;
    if (seen.has(k)) throw new TypeError(`batch holds two writes for ${w.type}/${w.id}`);
    seen.add(k);
  }
}

/** `save` in terms of `saveBatch`: one write, its one outcome, or its error. */
export async function saveOne(store: Pick<StateStore, 'saveBatch'>, write: StateWrite): Promise<number> {
  const [outcome] = await store.saveBatch([write]);
  if (!outcome) throw new Error('unreachable: one write, one outcome');
  if (!outcome.ok) throw outcome.error;
  return outcome.version;
}
