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

/** A member record and when this node received it (its own clock; see `Liveness`). */
export interface SeenMember extends Versioned<MemberRecord> {
  seenAt: number;
}

export type ViewChange =
  | { kind: 'shard'; shard: number }
  | { kind: 'member'; node: string }
  | { kind: 'lease' }
  /** The store was lost and rebuilt: everything was forgotten. */
  | { kind: 'reset' };

/**
 * One node's view of the shard map, fed by the store's watch and a `list()`.
 * Per key it keeps the change with the highest revision, so a replayed or late
 * entry never rolls the view back. Synchronous reads: `locate` runs per message.
 */
export class ClusterView {
  private readonly shards: (Versioned<ShardRecord> | undefined)[];
  private readonly memberMap = new Map<string, SeenMember>();
  private leaseEntry: Versioned<LeaseRecord> | undefined;
  /** Highest revision seen per key, deletes included. */
  private readonly seen = new Map<string, number>();
  private readonly listeners = new Set<(c: ViewChange) => void>();

  constructor(
    readonly shardCount: number,
    private readonly now: () => number = Date.now,
  ) {
    this.shards = new Array(shardCount).fill(undefined);
  }

  shard(n: number): Versioned<ShardRecord> | undefined {
    return this.shards[n];
  }

  members(): ReadonlyMap<string, SeenMember> {
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

  /**
   * Merges a full listing (after the watch started). `fromStamps`: the
   * node's first listing, where a member we have not heard from counts as
   * seen when its own heartbeat stamp says (records of dead processes are
   * old at once); later merges count as received now.
   */
  load(entries: readonly ShardMapEntry[], options: { fromStamps?: boolean } = {}): void {
    for (const e of entries) this.apply(e, options);
  }

  /**
   * Forgets everything: the store was lost and rebuilt, and its revisions
   * start again at 1, so the highest-revision rule must start over too.
   * Listeners hear one `shard` change per shard that had a record.
   */
  reset(): void {
    this.seen.clear();
    this.memberMap.clear();
    this.leaseEntry = undefined;
    const had: number[] = [];
    this.shards.forEach((s, i) => {
      if (s) had.push(i);
      this.shards[i] = undefined;
    });
    this.emit({ kind: 'reset' });
    for (const shard of had) this.emit({ kind: 'shard', shard });
  }

  /** Merges one change; returns false when it is older than what the view holds. */
  apply(c: ShardMapChange, options: { fromStamps?: boolean } = {}): boolean {
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
      const now = this.now();
      const seenAt = options.fromStamps && rec ? Math.min(now, rec.heartbeatAt) : now;
      if (rec) this.memberMap.set(node, { value: rec, revision: c.revision, seenAt });
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
