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
 * - The map itself can be lost (NATS restarted on an empty store). `ensure`
 *   checks it still exists and recreates it when it does not. When a watch's
 *   store turns out to be a different map than the one it started on
 *   (recreated here or by another node), the adapter calls the watch's
 *   `onReset` — its revisions start again at 1, so a consumer must forget
 *   what it had — and then replays the new map's entries to `onChange`.
 */
export interface ShardMapStore {
  list(): Promise<ShardMapEntry[]>;
  get(key: string): Promise<ShardMapEntry | undefined>;
  create(key: string, value: unknown): Promise<number>;
  update(key: string, value: unknown, revision: number): Promise<number>;
  delete(key: string, revision?: number): Promise<void>;
  watch(onChange: (change: ShardMapChange) => void, options?: WatchOptions): Promise<ShardMapWatch>;
  /**
   * Recreates the map if it is gone and resumes watches that ended; resolves
   * true when the map watches were started on was replaced (their `onReset`
   * has run). Fails while the store cannot be reached.
   */
  ensure(): Promise<boolean>;
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

export interface WatchOptions {
  /** The map was lost and replaced: forget everything; the new map's entries follow. */
  onReset?: () => void;
}

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
