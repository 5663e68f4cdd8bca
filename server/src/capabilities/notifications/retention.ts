import type { Migration, Sql } from '../../sql/sql.js';
import type { CapabilityPorts } from '../operation.js';
import { startRepeatingTask } from '../repeating-task.js';

/** Rows one statement deletes; a sweep repeats it until fewer come back. */
export const RETENTION_BATCH = 1000;
/** How often a node sweeps (and once shortly after it starts). */
export const RETENTION_EVERY_MS = 3_600_000;
const FIRST_SWEEP_MS = 60_000;
const DAY_MS = 86_400_000;

/** Indexes the sweep walks: notifications and ledger entries by age. */
export const retentionMigrations: Migration[] = [
  {
    id: 'notifications_002_age',
    sql: `CREATE INDEX notifications_age ON notifications (updated_at);
    CREATE INDEX notification_sources_age ON notification_sources (changed_at);`,
  },
];

/**
 * Deletes, in `sql`, the notifications not updated since `before` (ms) and
 * the dedup entries (`notification_sources`) of events older than it, in
 * batches of {@link RETENTION_BATCH} (rows another node's sweep holds are
 * skipped, not waited for). A like given again after its entry went
 * notifies again: the ledger's "once, ever" holds within the retention.
 * Answers how many rows of each it deleted.
 */
export async function sweepRetention(
  sql: Sql,
  before: number,
  stopped: () => boolean = () => false,
): Promise<{ notifications: number; sources: number }> {
  const out = { notifications: 0, sources: 0 };
  const batch = async (table: 'notifications' | 'notification_sources'): Promise<number> => {
    const r =
      table === 'notifications'
        ? await sql.query(
            `DELETE FROM notifications WHERE id IN (
               SELECT id FROM notifications WHERE updated_at < $1
                ORDER BY updated_at LIMIT ${RETENTION_BATCH} FOR UPDATE SKIP LOCKED)`,
            [before],
          )
        : await sql.query(
            `DELETE FROM notification_sources WHERE (recipient_id, event_key) IN (
               SELECT recipient_id, event_key FROM notification_sources WHERE changed_at < $1
                ORDER BY changed_at LIMIT ${RETENTION_BATCH} FOR UPDATE SKIP LOCKED)`,
            [before],
          );
    return r.rowCount ?? 0;
  };
  for (let n = RETENTION_BATCH; n === RETENTION_BATCH && !stopped(); )
    out.notifications += n = await batch('notifications');
  for (let n = RETENTION_BATCH; n === RETENTION_BATCH && !stopped(); )
    out.sources += n = await batch('notification_sources');
  return out;
}

/**
 * Starts this node's retention sweep (NOTIFY_RETENTION_DAYS; off at 0): a
 * minute after start, then every hour, every database. `stop` waits for a
 * sweep under way (each statement is short; the sweep stops between them).
 */
export function startRetentionSweep(ports: CapabilityPorts): { stop(): Promise<void> } {
  const days = ports.config.notifications.retentionDays;
  if (days <= 0) return { stop: async () => undefined };
  return startRepeatingTask(
    async (stopped) => {
      const before = ports.now() - days * DAY_MS;
      for (const sql of ports.db.all) {
        if (stopped()) return;
        const n = await sweepRetention(sql, before, stopped);
        if (n.notifications + n.sources > 0)
          ports.log.info({ ...n, days }, 'old notifications and dedup entries deleted');
      }
    },
    {
      firstMs: FIRST_SWEEP_MS,
      everyMs: RETENTION_EVERY_MS,
      onError: (err) => ports.log.warn({ err }, 'notification retention sweep failed; retried in an hour'),
    },
  );
}
