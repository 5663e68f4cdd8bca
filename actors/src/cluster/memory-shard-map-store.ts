import {
  type ShardMapChange,
  ShardMapConflict,
  type ShardMapEntry,
  type ShardMapStore,
  type ShardMapWatch,
  type WatchOptions,
} from './shard-map-store.js';

/**
 * In-process `ShardMapStore`: one cluster inside one process (unit tests, the
 * embedded single node). Values are stored as JSON text so callers can never
 * share a mutable object with the store.
 */
export class MemoryShardMapStore implements ShardMapStore {
  private readonly data = new Map<string, { json: string; revision: number }>();
  private readonly watchers = new Set<(c: ShardMapChange) => void>();
  private readonly resets = new Map<(c: ShardMapChange) => void, () => void>();
  private revision = 0;

  async list(): Promise<ShardMapEntry[]> {
    return [...this.data].map(([key, v]) => ({ key, value: JSON.parse(v.json), revision: v.revision }));
  }

  async get(key: string): Promise<ShardMapEntry | undefined> {
    const v = this.data.get(key);
    return v && { key, value: JSON.parse(v.json), revision: v.revision };
  }

  async create(key: string, value: unknown): Promise<number> {
    if (this.data.has(key)) throw new ShardMapConflict(key);
    return this.write(key, value);
  }

  async update(key: string, value: unknown, revision: number): Promise<number> {
    if (this.data.get(key)?.revision !== revision) throw new ShardMapConflict(key);
    return this.write(key, value);
  }

  async delete(key: string, revision?: number): Promise<void> {
    const cur = this.data.get(key);
    if (revision !== undefined && cur?.revision !== revision) throw new ShardMapConflict(key);
    if (!cur) return;
    this.data.delete(key);
    this.emit({ key, revision: ++this.revision, deleted: true });
  }

  async watch(
    onChange: (change: ShardMapChange) => void,
    options: WatchOptions = {},
  ): Promise<ShardMapWatch> {
    this.watchers.add(onChange);
    if (options.onReset) this.resets.set(onChange, options.onReset);
    return {
      stop: () => {
        this.watchers.delete(onChange);
        this.resets.delete(onChange);
      },
    };
  }

  /** Never lost on its own: see `lose`. */
  async ensure(): Promise<boolean> {
    return false;
  }

  /**
   * Tests: the map is lost and replaced by an empty one whose revisions start
   * again at 1, as when NATS restarts on an empty store; watches are reset.
   */
  lose(): void {
    this.data.clear();
    this.revision = 0;
    for (const onReset of this.resets.values()) onReset();
  }

  async close(): Promise<void> {
    this.watchers.clear();
    this.resets.clear();
  }

  private write(key: string, value: unknown): number {
    const json = JSON.stringify(value);
    const revision = ++this.revision;
    this.data.set(key, { json, revision });
    this.emit({ key, value: JSON.parse(json), revision });
    return revision;
  }

  private emit(change: ShardMapChange): void {
    const targets = [...this.watchers];
    queueMicrotask(() => {
      for (const w of targets) if (this.watchers.has(w)) w(change);
    });
  }
}
