import {
  type LeaseRecord,
  type MemberRecord,
  parseLease,
  parseMember,
  parseShard,
  type ShardRecord,
  shardOfKey,
} from './records.js';
import type { ShardMapChange, ShardMapEntry } from './shard-map-store.js';

export interface Versioned<T> {
  value: T;
  revision: number;
}

export type ViewChange =
  | { kind: 'shard'; shard: number }
  | { kind: 'member'; node: string }
  | { kind: 'lease' };

/**
 * One node's view of the shard map, fed by the store's watch and a `list()`.
 * Per key it keeps the change with the highest revision, so a replayed or late
 * entry never rolls the view back. Synchronous reads: `locate` runs per message.
 */
export class ClusterView {
  private readonly shards: (Versioned<ShardRecord> | undefined)[];
  private readonly memberMap = new Map<string, Versioned<MemberRecord>>();
  private leaseEntry: Versioned<LeaseRecord> | undefined;
  /** Highest revision seen per key, deletes included. */
  private readonly seen = new Map<string, number>();
  private readonly listeners = new Set<(c: ViewChange) => void>();

  constructor(readonly shardCount: number) {
    this.shards = new Array(shardCount).fill(undefined);
  }

  shard(n: number): Versioned<ShardRecord> | undefined {
    return this.shards[n];
  }

  members(): ReadonlyMap<string, Versioned<MemberRecord>> {
    return this.memberMap;
  }

  lease(): Versioned<LeaseRecord> | undefined {
    return this.leaseEntry;
  }

  /** How many shards have a record at all. */
  assignedCount(): number {
    let n = 0;
    for (const s of this.shards) if (s) n++;
    return n;
  }

  onChange(fn: (c: ViewChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Merges a full listing (after the watch started). */
  load(entries: readonly ShardMapEntry[]): void {
    for (const e of entries) this.apply(e);
  }

  /** Merges one change; returns false when it is older than what the view holds. */
  apply(c: ShardMapChange): boolean {
    const prev = this.seen.get(c.key);
    if (prev !== undefined && prev >= c.revision) return false;
    this.seen.set(c.key, c.revision);
    const value = c.deleted ? undefined : c.value;
    const shard = shardOfKey(c.key, this.shardCount);
    if (shard !== undefined) {
      const rec = value === undefined ? undefined : parseShard(value);
      this.shards[shard] = rec && { value: rec, revision: c.revision };
      this.emit({ kind: 'shard', shard });
    } else if (c.key.startsWith('member.')) {
      const node = c.key.slice(7);
      const rec = value === undefined ? undefined : parseMember(value);
      if (rec) this.memberMap.set(node, { value: rec, revision: c.revision });
      else this.memberMap.delete(node);
      this.emit({ kind: 'member', node });
    } else if (c.key === 'coordinator') {
      const rec = value === undefined ? undefined : parseLease(value);
      this.leaseEntry = rec && { value: rec, revision: c.revision };
      this.emit({ kind: 'lease' });
    }
    return true;
  }

  private emit(c: ViewChange): void {
    for (const fn of this.listeners) fn(c);
  }
}
