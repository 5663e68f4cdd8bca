import type { NearbyListResult } from './list.js';

/**
 * Who watches one user's nearby list, and what each stream was last sent,
 * as the user's `nearby` actor holds it (`watch-actor.ts`). A view is a
 * (stream, viewer) pair under a lease: it comes and renews with `view`,
 * goes with `leave`, and lapses by itself (`streams` drops it once its
 * lease ran out), so a node that dies takes its viewers with it within a
 * lease and a tick. A list goes out on a stream when it differs from the
 * last one sent there (`signature`), and once to every new viewer.
 */
export class NearbyWatch {
  /** `<stream> <viewer>` → end of its lease. */
  private readonly views = new Map<string, { stream: string; until: number }>();
  /** Stream → signature of the last list sent on it. */
  private readonly sent = new Map<string, string>();
  /** Streams with a viewer that has not had a list yet. */
  private readonly fresh = new Set<string>();

  get viewCount(): number {
    return this.views.size;
  }

  /** `viewer` subscribed to or renewed `stream` at `now`; true when it is a new view (it is owed a list now). */
  view(stream: string, viewer: string, leaseMs: number, now: number): boolean {
    const key = `${stream} ${viewer}`;
    const isNew = !this.views.has(key);
    this.views.set(key, { stream, until: now + leaseMs });
    if (isNew) this.fresh.add(stream);
    return isNew;
  }

  leave(stream: string, viewer: string): void {
    this.views.delete(`${stream} ${viewer}`);
    this.forgetUnviewed();
  }

  /** The streams viewed at `now`, views past their lease dropped first. */
  streams(now: number): string[] {
    for (const [key, v] of this.views) if (v.until <= now) this.views.delete(key);
    this.forgetUnviewed();
    return [...new Set([...this.views.values()].map((v) => v.stream))];
  }

  /** Whether a list with this signature should go out on `stream`. */
  due(stream: string, signature: string): boolean {
    return this.fresh.has(stream) || this.sent.get(stream) !== signature;
  }

  /** A list with this signature went out on `stream`. */
  sentOut(stream: string, signature: string): void {
    this.sent.set(stream, signature);
    this.fresh.delete(stream);
  }

  private forgetUnviewed(): void {
    const viewed = new Set([...this.views.values()].map((v) => v.stream));
    for (const s of this.sent.keys()) if (!viewed.has(s)) this.sent.delete(s);
    for (const s of this.fresh) if (!viewed.has(s)) this.fresh.delete(s);
  }
}

/**
 * What makes two lists the same to their viewer: the flags and, per item,
 * the friend (and how they are shown), the distance and the fix. `asOf`
 * and `ageMs` are left out: they change every time and the client ages a
 * fix by itself from `fixAt`.
 */
export function signature(list: NearbyListResult): string {
  return JSON.stringify([
    list.sharing,
    list.located,
    list.items.map((i) => [
      i.user.id,
      i.user.username,
      i.user.displayName,
      i.user.avatarMediaId,
      i.distanceMeters,
      i.fixAt,
      i.accuracyMeters,
    ]),
  ]);
}
