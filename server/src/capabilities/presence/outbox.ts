import type { PresenceEntry } from '@shutter/protocol';
import type { Databases } from '../../storage/databases.js';
import { hiddenAmong, recordLastSeen } from './presence-table.js';

/** A transition the store made: online, or settled offline with the time the user was last seen. */
export type Transition =
  | { userId: string; v: number; online: true }
  | { userId: string; v: number; online: false; lastSeen: number };

export interface OutboxDeps {
  db: Databases;
  publish: (users: PresenceEntry[]) => void;
  onError: (err: unknown) => void;
  /** Transitions made within this window leave together (ms). */
  windowMs?: number;
  /** Wait before a batch whose database work failed is tried again (ms). */
  retryMs?: number;
}

/**
 * Turns the store's transitions into what followers may see, in batches:
 * within a short window, each user's newest transition only; the databases
 * asked once per batch (online: who of them is hidden; offline: record
 * last seen, which answers who is hidden); hidden users left out; then one
 * publish for the batch. A batch whose database work fails is kept (newer
 * transitions of a user replacing older) and tried again.
 */
export class ChangeOutbox {
  private pending = new Map<string, Transition | PresenceEntry>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly deps: OutboxDeps) {}

  /** A transition to resolve (visibility, last seen) and publish. */
  offer(t: Transition): void {
    this.put(t.userId, t);
  }

  /** A state already resolved (a visibility change), published as it is with the next batch. */
  announce(user: PresenceEntry): void {
    this.put(user.id, user);
  }

  /** Publishes what is pending now (and waits for a batch on its way). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.running = this.send(batch).finally(() => {
      this.running = undefined;
    });
    await this.running;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private put(userId: string, t: Transition | PresenceEntry): void {
    const old = this.pending.get(userId);
    if (!old || old.v < t.v) this.pending.set(userId, t);
    this.schedule(this.deps.windowMs ?? 10);
  }

  private schedule(ms: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, ms);
  }

  private async send(batch: Map<string, Transition | PresenceEntry>): Promise<void> {
    try {
      this.deps.publish(await this.resolve([...batch.values()]));
    } catch (err) {
      this.deps.onError(err);
      for (const [id, t] of batch) {
        const now = this.pending.get(id);
        if (!now || now.v < t.v) this.pending.set(id, t);
      }
      this.schedule(this.deps.retryMs ?? 1000);
    }
  }

  private async resolve(batch: (Transition | PresenceEntry)[]): Promise<PresenceEntry[]> {
    const ready: PresenceEntry[] = [];
    const online: string[] = [];
    const seen = new Map<string, number>();
    for (const t of batch) {
      if ('id' in t) ready.push(t);
      else if (t.online) online.push(t.userId);
      else seen.set(t.userId, t.lastSeen);
    }
    const [hiddenOnline, hiddenOffline] = await Promise.all([
      online.length > 0 ? hiddenAmong(this.deps.db, online) : new Set<string>(),
      seen.size > 0 ? recordLastSeen(this.deps.db, seen) : new Set<string>(),
    ]);
    for (const t of batch) {
      if ('id' in t || hiddenOnline.has(t.userId) || hiddenOffline.has(t.userId)) continue;
      ready.push({ id: t.userId, online: t.online, lastSeen: t.online ? null : t.lastSeen, v: t.v });
    }
    return ready;
  }
}
