import { int } from './settings.js';

/** Notifications and their delivery ledger (issue 10 §4–5). */
export const notificationSettings = {
  pushAfterMs: int(
    'NOTIFY_PUSH_AFTER_MS',
    10_000,
    0,
    86_400_000,
    "A notification that no socket of its user reports shown (`notifications.shown`) within this time goes to the user's devices as a push.",
  ),
  livePerMinute: int(
    'NOTIFY_LIVE_PER_MINUTE',
    30,
    1,
    100_000,
    'Per recipient: at most this many notification events a minute go live on the inbox stream (and may be pushed); beyond it notifications are still stored, folded and counted, but neither sent live nor pushed until the next minute.',
  ),
  sweepMs: int(
    'NOTIFY_SWEEP_MS',
    1000,
    20,
    60_000,
    'How often each node looks in every database for notifications whose push is due (unseen after NOTIFY_PUSH_AFTER_MS); a push leaves at most this much later.',
  ),
  retentionDays: int(
    'NOTIFY_RETENTION_DAYS',
    90,
    0,
    36_500,
    'Notifications not updated for this many days are deleted, and so are dedup entries of events this old (a like given again after them notifies again); each node sweeps every database once an hour, 1 000 rows a statement. 0 keeps everything.',
  ),
  writesAtOnce: int(
    'NOTIFY_WRITES_AT_ONCE',
    4,
    1,
    256,
    "Recipient transactions of notification jobs each node runs at once (one recipient's one after another, in the node): the rest wait without a connection, so a burst of notifications never holds the database connections requests need (each database's pool has 10 per node).",
  ),
  concurrency: int(
    'NOTIFY_CONCURRENCY',
    8,
    1,
    256,
    'Notification jobs (one per like batch, comment, follow or post) each node writes at once.',
  ),
};
