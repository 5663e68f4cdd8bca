import type { PresenceEntry, PresenceEvent } from '@shutter/protocol';
import type { FollowEdge } from './presence-bus.js';

/** One subscription to `presence:<id>` on this node, as the watchers need it. */
export interface WatchView {
  readonly viewer: string;
  push(data: unknown): boolean;
}

export interface WatchersDeps {
  /** Each watcher gets at most one event per this interval (ms). */
  updateMs: number;
  now: () => number;
  /** The people `userId` follows (active follows, nobody across a block). */
  following: (userId: string) => Promise<string[]>;
  /** `userId`'s state as a follower sees it now (for a watcher who just started following them). */
  stateOf: (userId: string) => Promise<PresenceEntry>;
  onError: (err: unknown, what: string) => void;
  /** Wait before loading a watcher's follows again after a failure (ms). */
  retryMs?: number;
}

/** The watchers of one user on this node: every view of theirs here shares it. */
interface Watch {
  readonly userId: string;
  readonly views: Map<string, WatchView>;
  /** Who they follow, loaded once when their first view here starts; undefined while loading. */
  following: Set<string> | undefined;
  /** Follow changes that came while `following` loaded, applied after it. */
  early: FollowEdge[];
  pending: Map<string, PresenceEntry>;
  removed: Set<string>;
  lastSent: number;
  timer: NodeJS.Timeout | undefined;
}

/** A followed user with watchers on this node. */
interface Watched {
  readonly watches: Set<Watch>;
  /** The newest version handed to them: an older change (crossed on the bus) is dropped. */
  v: number;
}

/**
 * This node's index of its local watchers: watching user → who they follow,
 * and followed user → who here watches them. A change from the cluster is
 * one map lookup, then one pending entry per local watcher of that user
 * (nothing for a user nobody here watches); each watcher's pending changes
 * leave as one event, at most one per `updateMs`. A watcher's follows are
 * loaded once, when their first view on this node starts, and kept by the
 * follow changes every node hears; they are dropped with their last view.
 * Memory: O(local watching users × the people each follows) for the index,
 * plus the changes pending for watchers within one interval.
 */
export class PresenceWatchers {
  private readonly watches = new Map<string, Watch>();
  private readonly watched = new Map<string, Watched>();
  readonly stats = { events: 0, changesIn: 0, changesKept: 0 };

  constructor(private readonly d: WatchersDeps) {}

  /** How many users watch here, how many users they watch, and how many have an event due. */
  counts(): { watchers: number; watched: number; due: number } {
    let due = 0;
    for (const w of this.watches.values()) if (w.timer) due++;
    return { watchers: this.watches.size, watched: this.watched.size, due };
  }

  /** A view of `userId`'s started or was renewed. */
  view(userId: string, view: WatchView): void {
    const known = this.watches.get(userId);
    if (known) {
      known.views.set(view.viewer, view);
      return;
    }
    const w: Watch = {
      userId,
      views: new Map([[view.viewer, view]]),
      following: undefined,
      early: [],
      pending: new Map(),
      removed: new Set(),
      lastSent: 0,
      timer: undefined,
    };
    this.watches.set(userId, w);
    void this.load(w);
  }

  /** The view ended (unsub, lapse, socket closed); the last one takes the watcher's index entries away. */
  leave(userId: string, viewer: string): void {
    const w = this.watches.get(userId);
    if (!w?.views.delete(viewer) || w.views.size > 0) return;
    this.watches.delete(userId);
    if (w.timer) clearTimeout(w.timer);
    for (const id of w.following ?? []) this.unindex(w, id);
  }

  /** A batch of changes from the cluster. */
  changes(users: readonly PresenceEntry[]): void {
    for (const u of users) {
      this.stats.changesIn++;
      const entry = this.watched.get(u.id);
      if (!entry || u.v <= entry.v) continue;
      entry.v = u.v;
      this.stats.changesKept++;
      for (const w of entry.watches) this.offer(w, u);
    }
  }

  /** Follow changes from the cluster. */
  edges(edges: readonly FollowEdge[]): void {
    for (const e of edges) {
      const w = this.watches.get(e.watcher);
      if (!w) continue;
      if (w.following) this.applyEdge(w, w.following, e);
      else w.early.push(e);
    }
  }

  /** Changes may have been lost (the bus reconnected): every watcher reads the list again. */
  resync(): void {
    const data: PresenceEvent = { type: 'presence.resync' };
    for (const w of this.watches.values()) for (const v of w.views.values()) v.push(data);
  }

  close(): void {
    for (const w of this.watches.values()) if (w.timer) clearTimeout(w.timer);
    this.watches.clear();
    this.watched.clear();
  }

  private async load(w: Watch): Promise<void> {
    let ids: string[];
    try {
      ids = await this.d.following(w.userId);
    } catch (err) {
      this.d.onError(err, 'loading a watcher’s follows');
      if (this.watches.get(w.userId) === w)
        setTimeout(() => void this.load(w), this.d.retryMs ?? 1000).unref();
      return;
    }
    if (this.watches.get(w.userId) !== w) return; // its last view ended meanwhile
    const following = new Set(ids);
    w.following = following;
    for (const id of following) this.index(w, id);
    const early = w.early;
    w.early = [];
    for (const e of early) this.applyEdge(w, following, e);
  }

  private applyEdge(w: Watch, following: Set<string>, e: FollowEdge): void {
    if (!e.on) {
      if (!following.delete(e.user)) return;
      this.unindex(w, e.user);
      w.pending.delete(e.user);
      w.removed.add(e.user);
      this.schedule(w);
      return;
    }
    if (following.has(e.user)) return;
    following.add(e.user);
    this.index(w, e.user);
    this.d.stateOf(e.user).then(
      (u) => {
        // Still watching and following them, and no newer change came meanwhile.
        if (this.watches.get(w.userId) !== w || !following.has(e.user)) return;
        if (u.v < (this.watched.get(e.user)?.v ?? 0)) return;
        this.offer(w, u);
      },
      (err: unknown) => this.d.onError(err, 'reading the state of a user just followed'),
    );
  }

  private offer(w: Watch, u: PresenceEntry): void {
    w.pending.set(u.id, u);
    w.removed.delete(u.id);
    this.schedule(w);
  }

  private index(w: Watch, id: string): void {
    let entry = this.watched.get(id);
    if (!entry) this.watched.set(id, (entry = { watches: new Set(), v: 0 }));
    entry.watches.add(w);
  }

  private unindex(w: Watch, id: string): void {
    const entry = this.watched.get(id);
    if (!entry?.watches.delete(w)) return;
    if (entry.watches.size === 0) this.watched.delete(id);
  }

  /** The watcher's next event leaves at once, or one interval after its last. */
  private schedule(w: Watch): void {
    if (w.timer) return;
    const delay = Math.max(0, w.lastSent + this.d.updateMs - this.d.now());
    w.timer = setTimeout(() => this.flush(w), delay);
  }

  private flush(w: Watch): void {
    w.timer = undefined;
    if (w.pending.size === 0 && w.removed.size === 0) return;
    // Timers may fire a millisecond early by the wall clock: the interval is a promise, so wait it out.
    const early = w.lastSent + this.d.updateMs - this.d.now();
    if (early > 0) {
      w.timer = setTimeout(() => this.flush(w), early);
      return;
    }
    const data: PresenceEvent = { type: 'presence', users: [...w.pending.values()], removed: [...w.removed] };
    w.pending.clear();
    w.removed.clear();
    this.stats.events++;
    // A view whose socket just closed answers false; its `leave` follows.
    for (const v of w.views.values()) v.push(data);
    // After the pushes: the next event's time is at least an interval after this one's, to the millisecond.
    w.lastSent = this.d.now();
  }
}
