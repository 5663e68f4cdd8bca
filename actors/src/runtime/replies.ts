/** A remembered reply: [idempotency key, time first handled (ms), reply]. Persisted with the state. */
export type ReplyRecord = [key: string, at: number, reply: unknown];

export interface IdempotencyOptions {
  /** How long a key is remembered. Default 10 minutes. */
  windowMs?: number;
  /** At most this many keys per actor (oldest dropped first). Default 256. */
  maxKeys?: number;
}

/**
 * The replies an actor gave to keyed messages, newest last (Map keeps insertion
 * order, so pruning from the front drops the oldest). Kept with the actor's
 * persisted state so a retry finds its first answer after passivation or a
 * move to another node.
 */
export class ReplyCache {
  private readonly map = new Map<string, { at: number; reply: unknown }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  static from(records: readonly ReplyRecord[] | undefined, windowMs: number, maxKeys: number, now: number) {
    const c = new ReplyCache(windowMs, maxKeys);
    for (const [key, at, reply] of records ?? []) c.map.set(key, { at, reply });
    c.prune(now);
    return c;
  }

  get(key: string, now: number): { reply: unknown } | undefined {
    const e = this.map.get(key);
    return e && now - e.at < this.windowMs ? e : undefined;
  }

  set(key: string, reply: unknown, now: number): void {
    this.map.delete(key);
    this.map.set(key, { at: now, reply });
    this.prune(now);
  }

  get size(): number {
    return this.map.size;
  }

  records(now: number): ReplyRecord[] {
    this.prune(now);
    return [...this.map].map(([k, e]) => [k, e.at, e.reply]);
  }

  private prune(now: number): void {
    for (const [k, e] of this.map) {
      if (this.map.size <= this.maxKeys && now - e.at < this.windowMs) break;
      this.map.delete(k);
    }
  }
}
