import type { Sql } from '../../sql/sql.js';
import type { CapabilityPorts } from '../operation.js';
import type { EdgeState } from './edges.js';

interface Edge {
  dir: 'in' | 'out';
  other: string;
  state: EdgeState;
}

/**
 * Removes a deleted account from the graph. Its own lists (read from its
 * database) name every other user it has an edge or a block with; their
 * sides are removed in their databases, one transaction per database (the
 * others' rows locked in id order, their counts lowered for each active edge
 * removed), then its own rows. Emits `follow.changed` `none` for every edge
 * that was there.
 *
 * An edge whose other side alone survives (a crash between the two writes of
 * a follow) is not found this way: the account's own rows are the index.
 */
export async function removeUserFromGraph(ports: CapabilityPorts, userId: string): Promise<void> {
  const own = ports.db.forId(userId);
  const [follows, blocks] = await Promise.all([
    own.query<{ dir: 'in' | 'out'; other_id: string; state: EdgeState }>(
      'SELECT dir, other_id::text AS other_id, state FROM follows WHERE user_id = $1',
      [userId],
    ),
    own.query<{ other_id: string }>(
      'SELECT DISTINCT other_id::text AS other_id FROM blocks WHERE user_id = $1',
      [userId],
    ),
  ]);
  const edges: Edge[] = follows.rows.map((r) => ({ dir: r.dir, other: r.other_id, state: r.state }));
  const others = [...new Set([...edges.map((e) => e.other), ...blocks.rows.map((r) => r.other_id)])];
  await Promise.all([...ports.db.group(others)].map(([sql, ids]) => removeOtherSides(sql, ids, userId)));
  await own.transaction(async (tx) => {
    await tx.query('DELETE FROM follows WHERE user_id = $1', [userId]);
    await tx.query('DELETE FROM blocks WHERE user_id = $1', [userId]);
  });
  for (const e of edges) {
    const [follower, followee] = e.dir === 'out' ? [userId, e.other] : [e.other, userId];
    await ports.events.emit({ type: 'follow.changed', follower, followee, state: 'none' });
  }
}

/** In one database: the rows of `ids` about `gone`, and the counts they held. */
async function removeOtherSides(sql: Sql, ids: string[], gone: string): Promise<void> {
  await sql.transaction(async (tx) => {
    // The order every side write takes its owner's lock in, one row at a time: no deadlock with them.
    await tx.query('SELECT id FROM users WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [ids]);
    const removed = await tx.query<{ user_id: string; dir: 'in' | 'out'; state: EdgeState }>(
      `DELETE FROM follows WHERE user_id = ANY($1::uuid[]) AND other_id = $2
        RETURNING user_id::text AS user_id, dir, state`,
      [ids, gone],
    );
    const delta = new Map<string, { in: number; out: number }>();
    for (const r of removed.rows) {
      if (r.state !== 'active') continue;
      const d = delta.get(r.user_id) ?? { in: 0, out: 0 };
      d[r.dir] += 1;
      delta.set(r.user_id, d);
    }
    for (const [id, d] of delta)
      await tx.query(
        'UPDATE users SET follower_count = follower_count - $2, following_count = following_count - $3 WHERE id = $1',
        [id, d.in, d.out],
      );
    await tx.query('DELETE FROM blocks WHERE user_id = ANY($1::uuid[]) AND other_id = $2', [ids, gone]);
  });
}
