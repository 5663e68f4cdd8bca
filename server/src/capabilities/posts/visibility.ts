import type { Databases } from '../../storage/databases.js';

/** How the viewer stands to each of some authors, from the viewer's own graph rows. */
export interface ViewerRelations {
  /** Authors the viewer follows (active edges). */
  following: Set<string>;
  /** Authors the viewer blocks or is blocked by. */
  blocked: Set<string>;
}

/**
 * The viewer's follow and block rows toward `authorIds`, in ONE query on the
 * viewer's database (each side of an edge is kept there: `graph/edges.ts`),
 * however many authors a page has. The batch form of `GraphReads.canSee`.
 */
export async function viewerRelations(
  db: Databases,
  viewerId: string,
  authorIds: readonly string[],
): Promise<ViewerRelations> {
  const out: ViewerRelations = { following: new Set(), blocked: new Set() };
  const others = [...new Set(authorIds)].filter((id) => id !== viewerId);
  if (others.length === 0) return out;
  const r = await db.forId(viewerId).query<{ other_id: string; kind: string }>(
    `SELECT other_id::text AS other_id, 'follow' AS kind FROM follows
      WHERE user_id = $1 AND dir = 'out' AND state = 'active' AND other_id = ANY($2::uuid[])
     UNION ALL
     SELECT other_id::text AS other_id, 'block' AS kind FROM blocks
      WHERE user_id = $1 AND other_id = ANY($2::uuid[])`,
    [viewerId, others],
  );
  for (const x of r.rows) (x.kind === 'follow' ? out.following : out.blocked).add(x.other_id);
  return out;
}

/**
 * The rule of `GraphReads.canSee`, on relations read in bulk: the author
 * always; never across a block (either way); a private author only by
 * active followers.
 */
export function mayView(
  viewerId: string,
  author: { id: string; private: boolean },
  rel: ViewerRelations,
): boolean {
  if (author.id === viewerId) return true;
  if (rel.blocked.has(author.id)) return false;
  return !author.private || rel.following.has(author.id);
}
