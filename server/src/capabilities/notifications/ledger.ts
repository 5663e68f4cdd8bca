import { type InboxEvent, inboxStream } from '@shutter/protocol';
import type { Sql } from '../../sql/sql.js';
import type { CapabilityPorts } from '../operation.js';
import type { PushNotification } from '../push-outbox.js';
import { startRepeatingTask } from '../repeating-task.js';
import { toWire } from './render.js';
import { NOTIFICATION_COLUMNS, type NotificationRow } from './tables.js';
import { unreadIn } from './writer.js';

/**
 * The delivery ledger: a person sees each notification once, whichever
 * path gets there first.
 *
 * - A notification that goes live gets `push_due_at = now +
 *   NOTIFY_PUSH_AFTER_MS` in the transaction that made it.
 * - `notifications.shown` (a socket showed it, or the app showed it from a
 *   push) and `notifications.read` set it seen and clear `push_due_at`; one
 *   already handed to the push outbox is cancelled there.
 * - Each node sweeps every database every NOTIFY_SWEEP_MS for due rows and
 *   hands them to `ports.push`. The clock is a column, so a restart loses no
 *   pending push: whichever node sweeps next sends it.
 *
 * A claim is one statement (`FOR UPDATE SKIP LOCKED`, so nodes sweeping at
 * once take different rows) that marks the rows pushed and moves their due
 * time a lease ahead; after the outbox stored them, the due time is
 * cleared. A node that dies between the two leaves the rows due again after
 * the lease: at least once, and exactly once with an outbox keyed by
 * notification id. A `shown` that lands while a batch is being handed over
 * is caught after it: those are cancelled at once.
 */

/** Rows one claim takes. */
const SWEEP_BATCH = 200;
/** How long a claimed batch has to reach the outbox before another sweep takes it again. */
const CLAIM_LEASE_MS = 30_000;

/** Marks the caller's notifications shown; cancels pushes already handed over. Answers how many were not shown before. */
export async function markShown(
  ports: CapabilityPorts,
  userId: string,
  ids: readonly string[],
): Promise<number> {
  const r = await ports.db.forId(userId).query<{ id: string; pushed: boolean }>(
    `UPDATE notifications SET shown_at = $3, push_due_at = NULL
      WHERE recipient_id = $1 AND id = ANY($2::uuid[]) AND shown_at IS NULL
      RETURNING id::text AS id, pushed_at IS NOT NULL AS pushed`,
    [userId, ids, ports.now()],
  );
  const pushed = r.rows.filter((x) => x.pushed).map((x) => x.id);
  if (pushed.length) await ports.push.cancel(pushed);
  return r.rows.length;
}

/**
 * Marks the caller's notifications read (`ids`, or every unread one): read
 * is seen too, so their pushes are dropped. Tells the caller's other
 * sockets (`notifications.read`) when anything changed.
 */
export async function markRead(
  ports: CapabilityPorts,
  userId: string,
  ids: readonly string[] | 'all',
): Promise<{ updated: number; unreadCount: number }> {
  const sql = ports.db.forId(userId);
  const now = ports.now();
  const r = await sql.query<{ id: string; pushed: boolean }>(
    `UPDATE notifications SET read_at = $3, shown_at = COALESCE(shown_at, $3), push_due_at = NULL
      WHERE recipient_id = $1 AND read_at IS NULL AND ($2::uuid[] IS NULL OR id = ANY($2::uuid[]))
      RETURNING id::text AS id, pushed_at IS NOT NULL AS pushed`,
    [userId, ids === 'all' ? null : ids, now],
  );
  const pushed = r.rows.filter((x) => x.pushed).map((x) => x.id);
  if (pushed.length) await ports.push.cancel(pushed);
  const unreadCount = await unreadIn(sql, userId);
  if (r.rows.length) {
    const event: InboxEvent = {
      type: 'notifications.read',
      ids: ids === 'all' ? null : r.rows.map((x) => x.id),
      unreadCount,
    };
    await ports.streams.publish(inboxStream(userId), event);
  }
  return { updated: r.rows.length, unreadCount };
}

/** Starts this node's push sweeper (every NOTIFY_SWEEP_MS, every database); `stop` waits for a sweep under way. */
export function startPushSweeper(ports: CapabilityPorts): { stop(): Promise<void> } {
  const every = ports.config.notifications.sweepMs;
  return startRepeatingTask(
    async (stopped) => {
      for (const sql of ports.db.all) while (!stopped() && (await sweepOnce(ports, sql)) === SWEEP_BATCH);
    },
    {
      firstMs: every,
      everyMs: every,
      onError: (err) => ports.log.warn({ err }, 'notification push sweep failed; retried at the next'),
    },
  );
}

/** Claims one batch of due notifications in `sql`, hands them to the push outbox; answers how many it claimed. */
export async function sweepOnce(ports: CapabilityPorts, sql: Sql): Promise<number> {
  const now = ports.now();
  const claimed = await sql.query<NotificationRow>(
    `UPDATE notifications SET push_due_at = $2, pushed_at = COALESCE(pushed_at, $1)
      WHERE id IN (SELECT id FROM notifications WHERE push_due_at <= $1
                    ORDER BY push_due_at LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED)
      RETURNING ${NOTIFICATION_COLUMNS}`,
    [now, now + CLAIM_LEASE_MS],
  );
  const rows = claimed.rows;
  if (rows.length === 0) return 0;
  const recipients = [...new Set(rows.map((r) => r.recipient_id))];
  const [wire, badges] = await Promise.all([
    toWire(ports.db, rows),
    sql.query<{ recipient_id: string; n: number }>(
      `SELECT recipient_id::text AS recipient_id, count(*)::int AS n FROM notifications
        WHERE recipient_id = ANY($1::uuid[]) AND read_at IS NULL GROUP BY recipient_id`,
      [recipients],
    ),
  ]);
  const badge = new Map(badges.rows.map((b) => [b.recipient_id, b.n]));
  const recipientOf = new Map(rows.map((r) => [r.id, r.recipient_id]));
  const pushes: PushNotification[] = wire.map((n) => {
    const userId = recipientOf.get(n.id) as string;
    return {
      notificationId: n.id,
      userId,
      body: n.text,
      collapseKey: n.id,
      badge: badge.get(userId) ?? 0,
      // The outbox adds `notificationId` to every push's data itself (a key it reserves).
      data: { type: n.type, ...(n.postId ? { postId: n.postId } : {}) },
    };
  });
  await ports.push.enqueue(pushes);
  const released = await sql.query<{ id: string; seen: boolean }>(
    `UPDATE notifications SET push_due_at = NULL WHERE id = ANY($1::uuid[])
      RETURNING id::text AS id, (shown_at IS NOT NULL OR read_at IS NOT NULL) AS seen`,
    [rows.map((r) => r.id)],
  );
  // Shown or read while the batch was handed over: the client's cancel may have come before the enqueue.
  const late = released.rows.filter((x) => x.seen).map((x) => x.id);
  if (late.length) await ports.push.cancel(late);
  return rows.length;
}
