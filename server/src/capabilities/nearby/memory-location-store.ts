import { INDEX_PRECISIONS } from './geo.js';
import type { Candidates, Fix, LocationStore, MyEntry, Sharing, StoredFix } from './location-store.js';

interface Held {
  fix: StoredFix;
  expiresAt: number;
}

/**
 * The location store of one node (the embedded default): maps in this
 * process, the same data and rules as the Redis adapter. Expired fixes
 * are skipped when read and swept every `sweepMs` with their cells and
 * the expired friend sets, so memory holds about one TTL of fixes (the
 * sharing states, a few bytes per user who ever chose, stay). A cell's
 * count, which plans a scan, may include expired members not yet swept.
 */
export class MemoryLocationStore implements LocationStore {
  readonly kind = 'memory';
  private readonly sharing = new Map<string, Sharing>();
  private readonly fixes = new Map<string, Held>();
  /** Cell (any indexed precision) → user → when that user's fix expires. */
  private readonly cells = new Map<string, Map<string, number>>();
  private readonly friends = new Map<string, { ids: Set<string>; expiresAt: number }>();
  /** Drops of each user's friend set (the fence of `setFriends`). */
  private readonly friendsGens = new Map<string, number>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly clock: () => number = Date.now,
    sweepMs = 60_000,
  ) {
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref?.();
  }

  async me(userId: string, now: number): Promise<MyEntry> {
    const f = this.friends.get(userId);
    return {
      sharing: this.sharing.get(userId),
      fix: this.liveFix(userId, now),
      friendsHeld: f !== undefined && f.expiresAt > now,
      friendsGen: this.friendsGens.get(userId) ?? 0,
    };
  }

  async setSharing(userId: string, s: Sharing): Promise<void> {
    const held = this.sharing.get(userId);
    if (held && held.version >= s.version) return;
    this.sharing.set(userId, { on: s.on, version: s.version });
    if (!s.on) this.removeFix(userId);
  }

  async put(fix: StoredFix, ttlMs: number): Promise<'ok' | 'off' | 'unknown'> {
    const s = this.sharing.get(fix.userId);
    if (!s) return 'unknown';
    if (!s.on) return 'off';
    this.removeFix(fix.userId);
    const expiresAt = fix.at + ttlMs;
    this.fixes.set(fix.userId, { fix: { ...fix }, expiresAt });
    for (const p of INDEX_PRECISIONS) {
      const cell = fix.cell.slice(0, p);
      let members = this.cells.get(cell);
      if (!members) this.cells.set(cell, (members = new Map()));
      members.set(fix.userId, expiresAt);
    }
    return 'ok';
  }

  async setFriends(
    userId: string,
    friendIds: readonly string[],
    ttlMs: number,
    friendsGen: number,
  ): Promise<boolean> {
    if ((this.friendsGens.get(userId) ?? 0) !== friendsGen) return false;
    this.friends.set(userId, { ids: new Set(friendIds), expiresAt: this.clock() + ttlMs });
    return true;
  }

  async dropFriends(userIds: readonly string[]): Promise<void> {
    for (const id of userIds) {
      this.friends.delete(id);
      this.friendsGens.set(id, (this.friendsGens.get(id) ?? 0) + 1);
    }
  }

  async candidates(
    userId: string,
    cells: readonly string[] | undefined,
    now: number,
  ): Promise<Candidates | undefined> {
    const held = this.friends.get(userId);
    if (!held || held.expiresAt <= now) return undefined;
    const friends = held.ids;
    // Counted with expired members not yet swept: a plan, not a result (expired fixes are skipped below).
    let inCells = 0;
    if (cells) for (const c of cells) inCells += this.cells.get(c)?.size ?? 0;
    const fixes: Fix[] = [];
    if (cells && inCells < friends.size) {
      for (const c of cells)
        for (const id of this.cells.get(c)?.keys() ?? []) {
          const fix = friends.has(id) ? this.liveFix(id, now) : undefined;
          if (fix) fixes.push(fix);
        }
      return { fixes, plan: 'cells', scanned: inCells };
    }
    for (const id of friends) {
      const fix = this.liveFix(id, now);
      if (fix) fixes.push(fix);
    }
    return { fixes, plan: 'friends', scanned: friends.size };
  }

  async forget(userId: string): Promise<void> {
    this.removeFix(userId);
    this.sharing.delete(userId);
    this.friends.delete(userId);
    this.friendsGens.delete(userId);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private liveFix(userId: string, now: number): Fix | undefined {
    const h = this.fixes.get(userId);
    if (!h || h.expiresAt <= now) return undefined;
    const { cell: _cell, ...fix } = h.fix;
    return fix;
  }

  private removeFix(userId: string): void {
    const h = this.fixes.get(userId);
    if (!h) return;
    this.fixes.delete(userId);
    for (const p of INDEX_PRECISIONS) {
      const cell = h.fix.cell.slice(0, p);
      const members = this.cells.get(cell);
      members?.delete(userId);
      if (members?.size === 0) this.cells.delete(cell);
    }
  }

  /** Removes expired fixes (from their cells too) and expired friend sets. */
  private sweep(): void {
    const now = this.clock();
    for (const [id, h] of this.fixes) if (h.expiresAt <= now) this.removeFix(id);
    for (const [id, f] of this.friends) if (f.expiresAt <= now) this.friends.delete(id);
  }
}
