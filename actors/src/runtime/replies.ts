import type { KeyRecord } from './state-store.js';

export interface IdempotencyOptions {
  /**
   * How long a key is honoured, counted from the time in the key (UUIDv7 or
   * ULID). An older key is refused with `idempotency_key_expired`; keys are
   * pruned from the store's key table after it. Default 24 hours.
   */
  windowMs?: number;
  /**
   * Keys an activation keeps in memory (the most recent; answered without a
   * store lookup). The store keeps every key for the window whatever this is.
   * Default 1024.
   */
  maxKeys?: number;
  /** How often this node prunes expired keys from the store. Default 60 s; 0: never. */
  pruneIntervalMs?: number;
}

interface Entry {
  at: number;
  reply: unknown;
  /** In the store (its write committed, or found there): may be dropped from memory. */
  committed: boolean;
}

/**
 * An activation's memory of keyed messages: the most recent keys with their
 * replies (insertion order; the oldest committed ones are dropped beyond
 * `max`), and a horizon: the latest key time that may be in the store's key
 * table without being here. A key whose time is above the horizon was never
 * committed for this actor (every key committed before this activation raised
 * the persisted `keysUpTo`, and every key dropped from here raised the
 * horizon), so it needs no store lookup; a key at or below it is looked up.
 */
export class KeyCache {
  private readonly map = new Map<string, Entry>();

  constructor(
    private readonly max: number,
    /** See the class comment; persisted as `keysUpTo` with the state. */
    public horizon: number,
  ) {}

  get(key: string): Entry | undefined {
    return this.map.get(key);
  }

  /** A key just applied by this activation; its write is not committed yet. */
  add(key: string, at: number, reply: unknown): void {
    this.map.set(key, { at, reply, committed: false });
  }

  /** A key found in the store. */
  found(key: string, at: number, reply: unknown): void {
    if (!this.map.has(key)) this.map.set(key, { at, reply, committed: true });
    this.trim();
  }

  /** The write holding these keys committed. */
  committed(keys: readonly KeyRecord[]): void {
    for (const k of keys) {
      const e = this.map.get(k.key);
      if (e) e.committed = true;
    }
    this.trim();
  }

  get size(): number {
    return this.map.size;
  }

  private trim(): void {
    for (const [k, e] of this.map) {
      if (this.map.size <= this.max || !e.committed) break;
      this.map.delete(k);
      if (e.at > this.horizon) this.horizon = e.at;
    }
  }
}
