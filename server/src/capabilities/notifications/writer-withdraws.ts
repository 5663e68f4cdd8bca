import type { SqlQueryable } from '../../sql/sql.js';
import type { Changes } from './changes.js';
import type { Withdraw } from './plan.js';
import { ACTORS_KEPT } from './writer-adds.js';

/**
 * Withdrawals inside a recipient's transaction (its row lock held): an
 * event key taken back (an unlike, an unfollow, a deleted comment) leaves
 * the notification it is in while that one is still open — count down,
 * kept actors refilled from the sources, the row deleted when nobody is
 * left — and stays in a seen one (seen once is seen). A key not recorded
 * yet becomes a tombstone, so its addition, processed later, is known to
 * be older. A block (`dropActor`) takes the actor out of every
 * notification of the recipient, seen or not.
 */

interface SourceState extends Record<string, unknown> {
  event_key: string;
  state: 'live' | 'withdrawn' | 'tombstone';
  changed_at: number;
  notification_id: string | null;
  /** Its notification is still open (unread, not shown, not pushed); null when there is none. */
  open: boolean | null;
}

export async function applyWithdraws(
  tx: SqlQueryable,
  me: string,
  withdraws: Withdraw[],
  at: number,
  changes: Changes,
): Promise<void> {
  const rows = await tx.query<SourceState>(
    `SELECT s.event_key, s.state, s.changed_at::float8 AS changed_at, s.notification_id::text AS notification_id,
            (n.read_at IS NULL AND n.shown_at IS NULL AND n.pushed_at IS NULL) AS open
       FROM notification_sources s LEFT JOIN notifications n ON n.id = s.notification_id
      WHERE s.recipient_id = $1 AND s.event_key = ANY($2::text[])`,
    [me, withdraws.map((w) => w.key)],
  );
  const byKey = new Map(rows.rows.map((r) => [r.event_key, r]));
  const tombstones: Withdraw[] = [];
  const detach: Withdraw[] = [];
  const touch: string[] = [];
  for (const w of withdraws) {
    const s = byKey.get(w.key);
    if (!s) tombstones.push(w);
    else if (s.changed_at >= at)
      continue; // an older event than the one that set this key
    else if (s.state === 'live' && s.notification_id && s.open) detach.push(w);
    else touch.push(w.key);
  }
  if (tombstones.length)
    await tx.query(
      `INSERT INTO notification_sources (recipient_id, event_key, actor_id, state, changed_at)
       SELECT $1, k, a, 'tombstone', $4 FROM unnest($2::text[], $3::uuid[]) AS t(k, a)
       ON CONFLICT DO NOTHING`,
      [me, tombstones.map((w) => w.key), tombstones.map((w) => w.actor), at],
    );
  if (touch.length)
    await tx.query(
      `UPDATE notification_sources SET changed_at = greatest(changed_at, $3)
        WHERE recipient_id = $1 AND event_key = ANY($2::text[])`,
      [me, touch, at],
    );
  if (detach.length) {
    const of = detach.map((w) => byKey.get(w.key)?.notification_id as string);
    await detachAndShrink(tx, me, detach, of, at, changes);
  }
}

/** A block: the actor leaves every notification of the recipient, seen or not. */
export async function dropActor(
  tx: SqlQueryable,
  me: string,
  actor: string,
  at: number,
  changes: Changes,
): Promise<void> {
  const r = await tx.query<{ event_key: string; notification_id: string }>(
    `SELECT event_key, notification_id::text AS notification_id FROM notification_sources
      WHERE recipient_id = $1 AND actor_id = $2 AND state = 'live' AND notification_id IS NOT NULL`,
    [me, actor],
  );
  if (r.rows.length === 0) return;
  const detach = r.rows.map((x) => ({ key: x.event_key, actor }));
  await detachAndShrink(
    tx,
    me,
    detach,
    r.rows.map((x) => x.notification_id),
    at,
    changes,
  );
}

/**
 * Marks the keys withdrawn and takes them out of their notifications
 * (`of[i]` is the notification of `keys[i]`): count down, version up, the
 * kept actors refilled from the sources when one of them left, the row
 * deleted when nobody is left in it.
 */
async function detachAndShrink(
  tx: SqlQueryable,
  me: string,
  keys: Withdraw[],
  of: string[],
  at: number,
  changes: Changes,
): Promise<void> {
  await tx.query(
    `UPDATE notification_sources SET state = 'withdrawn', notification_id = NULL, changed_at = greatest(changed_at, $3)
      WHERE recipient_id = $1 AND event_key = ANY($2::text[])`,
    [me, keys.map((k) => k.key), at],
  );
  const per = new Map<string, string[]>();
  keys.forEach((k, i) => {
    const id = of[i] as string;
    per.set(id, [...(per.get(id) ?? []), k.actor]);
  });
  for (const [id, actors] of per) {
    const r = await tx.query<{ count: number }>(
      `UPDATE notifications SET count = count - $2, version = version + 1,
         actor_ids = CASE WHEN actor_ids && $3::uuid[] THEN ARRAY(
           SELECT actor_id FROM notification_sources WHERE notification_id = $1 AND state = 'live'
            GROUP BY actor_id ORDER BY max(changed_at) DESC LIMIT ${ACTORS_KEPT}) ELSE actor_ids END
        WHERE id = $1 RETURNING count`,
      [id, actors.length, actors],
    );
    const left = r.rows[0]?.count;
    if (left !== undefined && left <= 0) {
      await tx.query('DELETE FROM notifications WHERE id = $1', [id]);
      changes.deleted(id);
    } else if (left !== undefined) changes.touched(id);
  }
}
