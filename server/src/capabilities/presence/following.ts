import type { PresenceEntry } from '@shutter/protocol';
import type { Databases } from '../../storage/databases.js';
import type { PresenceStore } from './presence-store.js';
import { type PresenceRow, readPresenceRows } from './presence-table.js';

/**
 * Everyone `userId` follows (active follows), except users they block or
 * who block them: whose presence they may see. One query, in their database.
 */
export async function watchableIds(db: Databases, userId: string): Promise<string[]> {
  const r = await db.forId(userId).query<{ other_id: string }>(
    `SELECT f.other_id::text AS other_id FROM follows f
      WHERE f.user_id = $1 AND f.dir = 'out' AND f.state = 'active'
        AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = $1 AND b.other_id = f.other_id)`,
    [userId],
  );
  return r.rows.map((x) => x.other_id);
}

/** A user's presence as followers see it, from the store's state and their row. */
export function asSeen(
  id: string,
  state: { online: boolean; v: number } | undefined,
  row: PresenceRow | undefined,
): PresenceEntry {
  const visible = row?.visible ?? true;
  const online = visible && (state?.online ?? false);
  return { id, online, lastSeen: visible && !online ? (row?.lastSeen ?? null) : null, v: state?.v ?? 0 };
}

/** Users' presence as followers see it now: the store, and their rows (one query per database). */
export async function seenNow(
  db: Databases,
  store: PresenceStore,
  ids: readonly string[],
): Promise<PresenceEntry[]> {
  const [states, rows] = await Promise.all([store.states(ids), readPresenceRows(db, ids)]);
  return ids.map((id) => asSeen(id, states.get(id), rows.get(id)));
}

/** Online first, then the most recently seen, then the never seen; by id within a tie. */
function order(a: PresenceEntry, b: PresenceEntry): number {
  if (a.online !== b.online) return a.online ? -1 : 1;
  if (a.lastSeen !== b.lastSeen) return (b.lastSeen ?? -1) - (a.lastSeen ?? -1);
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * `presence.following`: the caller's watchable follows, their presence now,
 * ordered and capped at `limit`. Work: one query for the follows, one store
 * read per thousand of them, one query per database for their rows.
 */
export async function followingPresence(
  db: Databases,
  store: PresenceStore,
  userId: string,
  limit: number,
): Promise<{ items: PresenceEntry[]; total: number; truncated: boolean }> {
  const ids = await watchableIds(db, userId);
  const all = ids.length > 0 ? await seenNow(db, store, ids) : [];
  all.sort(order);
  return { items: all.slice(0, limit), total: all.length, truncated: all.length > limit };
}
