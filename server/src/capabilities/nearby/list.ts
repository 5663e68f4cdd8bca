import type { MethodResult } from '@shutter/protocol';
import type { CapabilityPorts } from '../operation.js';
import { checkedFriends, mutualFriends, type UserSummary } from './friends.js';
import { coveringCells, haversineMeters } from './geo.js';
import type { Candidates, Sharing } from './location-store.js';
import { readSharing } from './sharing-setting.js';

export type NearbyListResult = MethodResult<'nearby.list'>;
export type NearbyItem = NearbyListResult['items'][number];

type Ports = Pick<CapabilityPorts, 'db' | 'locations' | 'config' | 'now'>;

/** What one list cost: which plan the store chose and how many entries it looked at. */
export interface ListCost {
  plan: Candidates['plan'] | 'none';
  scanned: number;
  /** Friends the cache put within the radius (what the graph check read). */
  checked: number;
}

/** A list, the exact distance of each item (metres, unrounded), and what it cost. */
export interface NearbyComputed {
  list: NearbyListResult;
  exact: number[];
  cost: ListCost;
}

/**
 * The caller's sharing as the store holds it, restored from Postgres when
 * the store does not hold it (a flushed cache, a day without use). The
 * store keeps whichever version is newer.
 */
export async function sharingOf(ports: Ports, userId: string, held: Sharing | undefined): Promise<Sharing> {
  if (held) return held;
  const s = await readSharing(ports.db, userId);
  await ports.locations.setSharing(userId, s);
  return s;
}

/**
 * The list of `userId`'s friends within `radiusMeters` of their own fix,
 * nearest first. Two round trips to the location store (the caller's
 * entry; the candidates), the friend set read from the graph when the
 * store does not hold it, then the graph check of the candidates within
 * the radius (`checkedFriends`: one query in the viewer's database and one
 * in each candidate database, none when nobody is near). Cost: the
 * smaller of (people in the covering cells, friends) + friends near.
 *
 * `checks`, a watcher's memory of friends it checked lately, spares the
 * graph check of candidates checked within NEARBY_FRIENDS_CACHE_MS (a
 * one-off read checks every candidate).
 */
export async function nearbyList(
  ports: Ports,
  userId: string,
  radiusMeters: number,
  checks?: Pick<FriendChecks, 'due' | 'remember' | 'shown'>,
): Promise<NearbyComputed> {
  const now = ports.now();
  const cost: ListCost = { plan: 'none', scanned: 0, checked: 0 };
  const me = await ports.locations.me(userId, now);
  const sharing = await sharingOf(ports, userId, me.sharing);
  const empty = { sharing: sharing.on, located: false, radiusMeters, asOf: now, items: [] };
  if (!sharing.on || !me.fix) return { list: empty, exact: [], cost };
  const center = me.fix;
  const cells = coveringCells(center, radiusMeters);
  if (!me.friendsHeld) await loadFriends(ports, userId, me.friendsGen);
  let found = await ports.locations.candidates(userId, cells, now);
  if (!found) {
    // The friend set lapsed, or a follow changed and dropped it, since the first read: read it again.
    await loadFriends(ports, userId, (await ports.locations.me(userId, now)).friendsGen);
    found = (await ports.locations.candidates(userId, cells, now)) ?? {
      fixes: [],
      plan: 'friends',
      scanned: 0,
    };
  }
  cost.plan = found.plan;
  cost.scanned = found.scanned;
  const near = found.fixes
    .map((fix) => ({ fix, d: haversineMeters(center, fix) }))
    .filter((x) => x.d <= radiusMeters)
    .sort((a, b) => a.d - b.d || (a.fix.userId < b.fix.userId ? -1 : 1));
  const ids = near.map((x) => x.fix.userId);
  const toCheck = checks ? checks.due(ids, now) : ids;
  cost.checked = toCheck.length;
  const checked = await checkedFriends(ports.db, userId, toCheck);
  checks?.remember(toCheck, checked, now);
  const shown = (id: string) => (checks ? checks.shown(id) : checked.get(id));
  const items: NearbyItem[] = [];
  const exact: number[] = [];
  for (const { fix, d } of near) {
    const user = shown(fix.userId);
    if (!user) continue;
    exact.push(d);
    items.push({
      user,
      distanceMeters: Math.round(d),
      fixAt: fix.at,
      ageMs: Math.max(0, now - fix.at),
      accuracyMeters: fix.accuracy,
    });
  }
  return { list: { sharing: true, located: true, radiusMeters, asOf: now, items }, exact, cost };
}

/**
 * Reads the user's friend set from the graph and hands it to the store,
 * which keeps it unless a follow change dropped it since `gen` was read
 * (then the next list reads it again).
 */
async function loadFriends(ports: Ports, userId: string, gen: number): Promise<void> {
  const ids = await mutualFriends(ports.db, userId);
  await ports.locations.setFriends(userId, ids, ports.config.nearby.friendsCacheMs, gen);
}

/**
 * A watcher's memory of the friends it checked against the graph
 * (`checkedFriends`): each id's summary, or null when it must not be
 * shown, for `ttlMs`. Candidates come from the friend set, which a follow
 * or block drops at once, so what this spares is the graph re-confirming
 * the same friends every interval; a change it could miss (an event lost
 * with a crashing node) lasts at most `ttlMs`.
 */
export class FriendChecks {
  private readonly checked = new Map<string, { user: UserSummary | null; until: number }>();

  constructor(private readonly ttlMs: number) {}

  /** Those of `ids` not checked within the TTL (expired entries are forgotten on the way). */
  due(ids: readonly string[], now: number): string[] {
    for (const [id, c] of this.checked) if (c.until <= now) this.checked.delete(id);
    return ids.filter((id) => !this.checked.has(id));
  }

  remember(ids: readonly string[], shown: ReadonlyMap<string, UserSummary>, now: number): void {
    for (const id of ids) this.checked.set(id, { user: shown.get(id) ?? null, until: now + this.ttlMs });
  }

  shown(id: string): UserSummary | undefined {
    return this.checked.get(id)?.user ?? undefined;
  }
}

/** The list as a smaller radius would have it, from the same computation (by the exact distances). */
export function within(c: NearbyComputed, radiusMeters: number): NearbyListResult {
  return {
    ...c.list,
    radiusMeters,
    items: c.list.items.filter((_, i) => (c.exact[i] as number) <= radiusMeters),
  };
}
