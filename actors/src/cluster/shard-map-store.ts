/**
 * The shard map port: a small key/value store with compare-and-set, where the
 * cluster keeps its shared state (`shard.<n>` assignments, `member.<node>`
 * heartbeats, the `coordinator` lease). Values are plain JSON values.
 * Adapters: `MemoryShardMapStore` (one process, tests) and `NatsShardMapStore`
 * (JetStream KV, server/src/adapters/nats-shard-map.ts). Both pass
 * `shardMapStoreContract` (actors/src/testing).
 *
 * Contract:
 * - Every write gets a revision that is greater than every revision the store
 *   handed out before (one counter for the whole store, as in JetStream KV).
 * - `create` fails with `ShardMapConflict` when the key holds a value;
 *   `update` and a `delete` with a revision fail with it unless that revision
 *   is the key's current one. Nothing is written on a conflict.
 * - `watch` calls `onChange` for every write (update or delete) made after its
 *   promise resolves, in revision order, never synchronously inside a write.
 *   It may also replay older entries; consumers keep, per key, the change with
 *   the highest revision. Read `list()` after `watch()` resolves to start from
 *   a complete view.
 * - Keys are dot-separated tokens of `[A-Za-z0-9_-]`.
 * - No per-key expiry: liveness lives in the values as timestamps and is swept
 *   by the coordinator (NATS 2.9 silently ignores per-key TTLs).
 */
export interface ShardMapStore {
  list(): Promise<ShardMapEntry[]>;
  get(key: string): Promise<ShardMapEntry | undefined>;
  create(key: string, value: unknown): Promise<number>;
  update(key: string, value: unknown, revision: number): Promise<number>;
  delete(key: string, revision?: number): Promise<void>;
  watch(onChange: (change: ShardMapChange) => void): Promise<ShardMapWatch>;
  /** Stops watches; the store's owner closes the underlying connection. */
  close(): Promise<void>;
}

export interface ShardMapEntry {
  key: string;
  value: unknown;
  revision: number;
}

export type ShardMapChange =
  | (ShardMapEntry & { deleted?: false })
  | { key: string; revision: number; deleted: true };

export interface ShardMapWatch {
  stop(): void;
}

/** A compare-and-set lost: the key changed (or exists, or is gone) since it was read. */
export class ShardMapConflict extends Error {
  override readonly name = 'ShardMapConflict';
  readonly code = 'shard_map_conflict';
  constructor(key: string, options?: { cause?: unknown }) {
    super(`shard map key ${key} changed concurrently`, options);
  }
}
