import type { Sql, SqlQueryable } from '../../sql/sql.js';
import { Changes, LiveBudget } from './changes.js';
import type { RecipientWork } from './plan.js';
import { NOTIFICATION_COLUMNS, type NotificationRow } from './tables.js';
import { applyAdds } from './writer-adds.js';
import { applyWithdraws, dropActor } from './writer-withdraws.js';

export interface WriterSettings {
  /** NOTIFY_PUSH_AFTER_MS: how long a live notification waits for a socket's `shown` before it is pushed. */
  pushAfterMs: number;
  /** NOTIFY_LIVE_PER_MINUTE: live events per recipient per minute. */
  livePerMinute: number;
}

/** One event's work for a recipient, with the event's stamp. */
export interface Share {
  work: RecipientWork;
  at: number;
}

/** What one recipient's transaction changed, for the inbox stream. */
export interface WriteResult {
  recipient: string;
  /** New or changed notifications within the live budget, oldest change first. */
  live: NotificationRow[];
  /** Notifications withdrawn before anyone saw them (deleted). */
  removed: string[];
  unreadCount: number;
}

/**
 * Applies one job's work for one recipient (each event's share in order,
 * with its stamp) in ONE transaction of the
 * recipient's database, which starts by locking the recipient's
 * `notification_users` row: a recipient's writes run one at a time, so
 * folding and counting stay exact with many consumers on many nodes. The
 * row is made only for a live account (the `users` row, beside it), so a
 * job that runs after its recipient's deletion leaves nothing behind.
 *
 * - Muted types are dropped (the opt-out is read under the same lock).
 * - Additions (`writer-adds.ts`): each event key is recorded; a key
 *   notifies once, ever. Fresh keys of one group fold into the group's
 *   open notification, or make a new one.
 * - Withdrawals and blocks (`writer-withdraws.ts`).
 * - The live budget: of the notifications changed, at most
 *   NOTIFY_LIVE_PER_MINUTE a minute go live (and start their push clock:
 *   pushed at `now + pushAfterMs` unless shown first); the rest stay
 *   stored, folded and counted.
 *
 * A like batch is 6 round trips: begin, lock, keys, fold, budget and
 * unread count, commit (each more event for the recipient in the job: 2
 * more). Answers undefined when nothing changed.
 */
export async function writeForRecipient(
  sql: Sql,
  me: string,
  shares: readonly Share[],
  now: number,
  settings: WriterSettings,
): Promise<WriteResult | undefined> {
  return sql.transaction(async (tx) => {
    const user = (
      await tx.query<{ muted: string[]; window_start: number; window_live: number }>(
        `INSERT INTO notification_users (user_id) SELECT id FROM users WHERE id = $1 AND deleted_at IS NULL
         ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
         RETURNING muted, window_start::float8 AS window_start, window_live`,
        [me],
      )
    ).rows[0];
    // No live account (deleted, or a job that outlived its deletion): nobody to notify, nothing to keep.
    if (!user) return undefined;
    const budget = new LiveBudget(user.window_start, user.window_live, now, settings.livePerMinute);
    const changes = new Changes();
    const muted = new Set(user.muted);
    for (const { work, at } of shares) {
      const adds = lastPerKey(work.adds.filter((a) => !muted.has(a.type)));
      if (adds.length) await applyAdds(tx, me, adds, at, now, now + settings.pushAfterMs, budget, changes);
      if (work.withdraws.length) await applyWithdraws(tx, me, lastPerKey(work.withdraws), at, changes);
      if (work.dropActor) await dropActor(tx, me, work.dropActor, at, changes);
    }
    if (changes.empty) return undefined;

    const stale = changes.settle(budget);
    if (stale.length)
      changes.refresh(
        (
          await tx.query<NotificationRow>(
            `SELECT ${NOTIFICATION_COLUMNS} FROM notifications WHERE id = ANY($1::uuid[])`,
            [stale],
          )
        ).rows,
      );
    const r = await tx.query<{ unread: number }>(
      `UPDATE notification_users SET window_start = $2, window_live = $3 WHERE user_id = $1
       RETURNING (SELECT count(*)::int FROM notifications WHERE recipient_id = $1 AND read_at IS NULL) AS unread`,
      [me, budget.start, budget.used],
    );
    return {
      recipient: me,
      live: changes.live(),
      removed: changes.removed,
      unreadCount: r.rows[0]?.unread ?? 0,
    };
  });
}

/** The recipient's unread count (one index range). */
export async function unreadIn(q: SqlQueryable, userId: string): Promise<number> {
  const r = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM notifications WHERE recipient_id = $1 AND read_at IS NULL',
    [userId],
  );
  return r.rows[0]?.n ?? 0;
}

/** The last of each key, in the order of their last occurrence (one statement cannot touch a row twice). */
function lastPerKey<T extends { key: string }>(items: readonly T[]): T[] {
  return [...new Map(items.map((i) => [i.key, i])).values()];
}
