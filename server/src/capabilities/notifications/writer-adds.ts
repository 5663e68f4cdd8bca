import { newId, shardOfId } from '@shutter/protocol';
import type { SqlQueryable } from '../../sql/sql.js';
import type { Changes, LiveBudget } from './changes.js';
import type { Add } from './plan.js';
import { NOTIFICATION_COLUMNS, type NotificationRow } from './tables.js';

/** Actors a notification keeps by id (newest first); `count` holds how many there are in all. */
export const ACTORS_KEPT = 3;

/**
 * Records the additions' event keys and folds the fresh ones into their
 * groups' notifications, inside the recipient's transaction (its row lock
 * held). Two statements for a like batch: the keys, then the group.
 *
 * A key is fresh when it was never recorded, or is a tombstone older than
 * this event; a key already live or withdrawn notifies no more. Every key
 * keeps the newest stamp that touched it.
 */
export async function applyAdds(
  tx: SqlQueryable,
  me: string,
  adds: readonly Add[],
  at: number,
  now: number,
  pushDueAt: number,
  budget: LiveBudget,
  changes: Changes,
): Promise<void> {
  const r = await tx.query<{ event_key: string; fresh: boolean }>(
    `INSERT INTO notification_sources AS s (recipient_id, event_key, actor_id, state, changed_at)
     SELECT $1, k, a, 'live', $4 FROM unnest($2::text[], $3::uuid[]) AS t(k, a)
     ON CONFLICT (recipient_id, event_key) DO UPDATE SET
       state = CASE WHEN s.state = 'tombstone' AND s.changed_at < EXCLUDED.changed_at THEN 'live' ELSE s.state END,
       notification_id = CASE WHEN s.state = 'tombstone' AND s.changed_at < EXCLUDED.changed_at
                              THEN NULL ELSE s.notification_id END,
       changed_at = greatest(s.changed_at, EXCLUDED.changed_at)
     RETURNING event_key, (state = 'live' AND notification_id IS NULL) AS fresh`,
    [me, adds.map((a) => a.key), adds.map((a) => a.actor), at],
  );
  const fresh = new Set(r.rows.filter((x) => x.fresh).map((x) => x.event_key));
  const groups = new Map<string, Add[]>();
  for (const a of adds) if (fresh.has(a.key)) groups.set(a.group, [...(groups.get(a.group) ?? []), a]);
  for (const [group, items] of groups) {
    // One live event per notification per transaction, however many of the job's events fold into it.
    const live = changes.isLiveGroup(group) || budget.take();
    changes.written(group, await foldGroup(tx, me, group, items, now, live ? pushDueAt : null), live);
  }
}

/**
 * ONE statement: the group's open notification (unread, not shown, not
 * pushed) takes the fresh actors — newest first, the kept ones after them,
 * `count` up, `version` up, the latest comment — or a new notification is
 * made; the keys point at it; a notification that goes live starts its
 * push clock (`pushDueAt`; a fold keeps an earlier one). Answers the row.
 */
async function foldGroup(
  tx: SqlQueryable,
  me: string,
  group: string,
  items: readonly Add[],
  now: number,
  pushDueAt: number | null,
): Promise<NotificationRow> {
  const last = items[items.length - 1] as Add;
  const newest = [...new Set(items.map((a) => a.actor).reverse())];
  const r = await tx.query<NotificationRow>(
    `WITH open AS (
       SELECT id FROM notifications
        WHERE recipient_id = $1 AND group_key = $2 AND read_at IS NULL AND shown_at IS NULL AND pushed_at IS NULL
        FOR UPDATE
     ), upd AS (
       UPDATE notifications n SET
         actor_ids = ARRAY(SELECT x FROM unnest($3::uuid[] || n.actor_ids) WITH ORDINALITY AS t(x, i)
                            GROUP BY x ORDER BY min(i) LIMIT ${ACTORS_KEPT}),
         count = count + $4::int, updated_at = $5::bigint, version = version + 1,
         comment_id = COALESCE($8::uuid, comment_id), snippet = COALESCE($9::text, snippet),
         push_due_at = COALESCE(push_due_at, $10::bigint)
        FROM open WHERE n.id = open.id
        RETURNING n.*
     ), ins AS (
       INSERT INTO notifications (id, recipient_id, type, group_key, actor_ids, count, post_id, comment_id,
                                  snippet, created_at, updated_at, push_due_at)
       SELECT $11::uuid, $1::uuid, $6::text, $2::text, $3::uuid[], $4::int, $7::uuid, $8::uuid, $9::text,
              $5::bigint, $5::bigint, $10::bigint
        WHERE NOT EXISTS (SELECT 1 FROM open)
       RETURNING *
     ), att AS (
       UPDATE notification_sources SET notification_id = COALESCE((SELECT id FROM open), $11::uuid)
        WHERE recipient_id = $1 AND event_key = ANY($12::text[])
     )
     SELECT ${NOTIFICATION_COLUMNS} FROM (SELECT * FROM upd UNION ALL SELECT * FROM ins) AS notifications`,
    [
      me,
      group,
      newest.slice(0, ACTORS_KEPT),
      items.length,
      now,
      last.type,
      last.postId,
      last.commentId,
      last.snippet,
      pushDueAt,
      newId(shardOfId(me) ?? 0),
      items.map((a) => a.key),
    ],
  );
  const row = r.rows[0];
  if (!row) throw new Error(`folding into ${group} returned no row`);
  return row;
}
