import type { RankSource } from '@shutter/protocol';

/** Where an explore page starts: items walked so far, and the offset reached in each list. */
export interface ExplorePosition {
  /** Items taken so far (every `every`-th slot is a trending one). */
  k: number;
  personal: number;
  trending: number;
  popular: number;
}

export const START: ExplorePosition = { k: 0, personal: 0, trending: 0, popular: 0 };

/** The lists explore mixes; undefined when that source failed, was late or is not computed yet. */
export interface ExploreLists {
  personal: readonly string[] | undefined;
  trending: readonly string[] | undefined;
  popular: readonly string[];
}

export interface Walked {
  id: string;
  source: RankSource;
  /** Where the next page starts if this is the last item shown. */
  after: ExplorePosition;
}

type ListName = keyof ExploreLists;

/** Which lists a slot tries, in order: its own, then its fallback (popular), then the other. */
const SLOT_ORDER: Record<'personal' | 'trending', readonly ListName[]> = {
  personal: ['personal', 'popular', 'trending'],
  trending: ['trending', 'popular', 'personal'],
};

/**
 * Walks the lists from `from` and takes up to `want` ids: slot k is a
 * trending slot when (k + 1) is a multiple of `every`, else a personal
 * one; each slot takes the next id of its own list, or — that list missing
 * or used up — of popular, or of the other list. Ids `skip` names (shown
 * recently) and ids taken already in this walk are passed over (and
 * consumed). `exhausted`: every list is used up.
 */
export function walk(
  lists: ExploreLists,
  from: ExplorePosition,
  o: { want: number; every: number; skip: (id: string) => boolean },
): { items: Walked[]; exhausted: boolean } {
  const pos = { ...from };
  const taken = new Set<string>();
  const items: Walked[] = [];
  const next = (name: ListName): string | undefined => {
    const list = lists[name];
    if (!list) return undefined;
    while (pos[name] < list.length) {
      const id = list[pos[name]] as string;
      pos[name]++;
      if (!taken.has(id) && !o.skip(id)) return id;
    }
    return undefined;
  };
  while (items.length < o.want) {
    const slot = (pos.k + 1) % o.every === 0 ? 'trending' : 'personal';
    let found: { id: string; source: RankSource } | undefined;
    for (const name of SLOT_ORDER[slot]) {
      const id = next(name);
      if (id !== undefined) {
        found = { id, source: name };
        break;
      }
    }
    if (!found) return { items, exhausted: true };
    taken.add(found.id);
    pos.k++;
    items.push({ ...found, after: { ...pos } });
  }
  const exhausted = (['personal', 'trending', 'popular'] as const).every((n) => {
    const list = lists[n];
    return !list || list.slice(pos[n]).every((id) => taken.has(id) || o.skip(id));
  });
  return { items, exhausted };
}
