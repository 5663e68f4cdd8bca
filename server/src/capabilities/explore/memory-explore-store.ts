import type { ExploreStore, ExploreStoreOptions, Picks } from './explore-store.js';

interface Entry {
  picks: (Picks & { expiresAt: number }) | undefined;
  /** Post id → when it was shown. */
  shown: Map<string, number>;
}

export interface MemoryExploreStoreOptions extends ExploreStoreOptions {
  /** Users held at most; the least recently used beyond are forgotten. */
  maxUsers: number;
  now: () => number;
}

/** The embedded explore store: users in this process, least recently used forgotten first. */
export class MemoryExploreStore implements ExploreStore {
  readonly kind = 'memory' as const;
  private readonly users = new Map<string, Entry>();

  constructor(private readonly o: MemoryExploreStoreOptions) {}

  async read(user: string, now: number): Promise<{ picks: Picks | undefined; shown: Set<string> }> {
    const e = this.touch(user, false);
    const p = e?.picks && e.picks.expiresAt > this.o.now() ? e.picks : undefined;
    const shown = new Set<string>();
    for (const [id, at] of e?.shown ?? []) if (at > now - this.o.shownTtlMs) shown.add(id);
    return { picks: p && { computedAt: p.computedAt, ids: [...p.ids] }, shown };
  }

  async putPicks(user: string, picks: Picks): Promise<void> {
    const e = this.touch(user, true) as Entry;
    e.picks = {
      computedAt: picks.computedAt,
      ids: [...picks.ids],
      expiresAt: this.o.now() + this.o.picksTtlMs,
    };
  }

  async markShown(user: string, ids: readonly string[], now: number): Promise<void> {
    const e = this.touch(user, true) as Entry;
    for (const id of ids) {
      e.shown.delete(id);
      e.shown.set(id, now);
    }
    for (const [id, at] of e.shown) if (at <= now - this.o.shownTtlMs) e.shown.delete(id);
    // Insertion order is showing order: the oldest go first.
    for (const id of e.shown.keys()) {
      if (e.shown.size <= this.o.shownMax) break;
      e.shown.delete(id);
    }
  }

  async drop(users: readonly string[]): Promise<void> {
    for (const u of users) this.users.delete(u);
  }

  async close(): Promise<void> {
    this.users.clear();
  }

  private touch(user: string, create: boolean): Entry | undefined {
    let e = this.users.get(user);
    if (e) this.users.delete(user);
    else if (create) e = { picks: undefined, shown: new Map() };
    if (!e) return undefined;
    this.users.set(user, e);
    if (this.users.size > this.o.maxUsers) this.users.delete(this.users.keys().next().value as string);
    return e;
  }
}
