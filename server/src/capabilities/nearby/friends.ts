import type { MethodResult } from '@shutter/protocol';
import type { Databases } from '../../storage/databases.js';

/** A user as the list shows them. */
export type UserSummary = MethodResult<'nearby.list'>['items'][number]['user'];

/**
 * Who may see whose location, from the follow graph: a friend is a mutual
 * follower (both edges active) with no block either way. Each side of an
 * edge is in its owner's database, so the viewer's own rows answer it.
 */

/** Mutual followers of `userId` minus blocks either way: one query in the user's database. */
export async function mutualFriends(db: Databases, userId: string): Promise<string[]> {
  const r = await db.forId(userId).query<{ id: string }>(
    `SELECT f.other_id::text AS id FROM follows f
      WHERE f.user_id = $1 AND f.state = 'active'
        AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = $1 AND b.other_id = f.other_id)
      GROUP BY f.other_id HAVING count(*) = 2`,
    [userId],
  );
  return r.rows.map((x) => x.id);
}

/**
 * The authoritative check of a list before it is shown: of `candidates`
 * (friends the cache put within the radius), those that are mutual
 * followers of the viewer with no block either way, provided the viewer's
 * sharing is on (one query in the viewer's database), and whose own
 * sharing is on and account live, with their summary (one query in each
 * candidate database, at the same time). A cache that is behind (a follow
 * just undone, sharing turned off where the cache could not be told) shows
 * nothing it should not.
 */
export async function checkedFriends(
  db: Databases,
  viewer: string,
  candidates: readonly string[],
): Promise<Map<string, UserSummary>> {
  const out = new Map<string, UserSummary>();
  if (candidates.length === 0) return out;
  const [mutual, sharing] = await Promise.all([
    db.forId(viewer).query<{ id: string }>(
      // Both directions active; the state is counted, not filtered on, so the edges are probed by
      // the key (user_id, dir, other_id), never by walking follows_list (graph/edges.ts).
      `SELECT f.other_id::text AS id FROM follows f
        WHERE f.user_id = $1 AND f.dir IN ('in', 'out') AND f.other_id = ANY($2::uuid[])
          AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.user_id = $1 AND b.other_id = f.other_id)
          AND EXISTS (SELECT 1 FROM nearby_settings s WHERE s.user_id = $1 AND s.sharing)
        GROUP BY f.other_id HAVING count(*) FILTER (WHERE f.state = 'active') = 2`,
      [viewer, candidates],
    ),
    db.each(candidates, async (sql, ids) => {
      const r = await sql.query<SummaryRow>(
        `SELECT u.id::text AS id, u.username, u.display_name, u.avatar_media_id, u.private
           FROM users u JOIN nearby_settings s ON s.user_id = u.id AND s.sharing
          WHERE u.id = ANY($1::uuid[]) AND u.deleted_at IS NULL`,
        [ids],
      );
      return r.rows;
    }),
  ]);
  const summaries = new Map(sharing.map((u) => [u.id, u]));
  for (const { id } of mutual.rows) {
    const u = summaries.get(id);
    if (u)
      out.set(id, {
        id,
        username: u.username,
        displayName: u.display_name,
        avatarMediaId: u.avatar_media_id,
        private: u.private,
      });
  }
  return out;
}

interface SummaryRow extends Record<string, unknown> {
  id: string;
  username: string;
  display_name: string;
  avatar_media_id: string | null;
  private: boolean;
}
