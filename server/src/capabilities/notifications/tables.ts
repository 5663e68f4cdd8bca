import type { NotificationType } from '@shutter/protocol';
import type { Migration } from '../../sql/sql.js';

/**
 * The notifications tables, in the RECIPIENT's database (`db.forId(recipient)`):
 *
 * - `notifications`: what a user sees. `group_key` says what folds together
 *   (`like:<post>`, `comment:<post>`; any other type is its own group); at
 *   most one *open* notification per group (unread, not shown, not pushed:
 *   the unique index), and only an open one takes more actors. `actor_ids`:
 *   the latest 3, newest first; `count`: every actor folded in. Times are
 *   ms since the Unix epoch. `push_due_at` is the delivery ledger's clock:
 *   set when the notification goes live, cleared when a socket reports it
 *   shown (or it is read), claimed by the push sweeper when it passes.
 * - `notification_sources`: the dedup ledger, one row per (recipient, event
 *   key) — `like:<post>:<liker>`, `comment:<comment>`, `follow:<follower>`…
 *   A key notifies at most once, ever: `live` (in a notification, seen or
 *   not) and `withdrawn` (taken back unseen by an unlike, an unfollow, a
 *   block) never notify again, so like → unlike → like does not notify
 *   twice. A `tombstone` is an undo that arrived before its do (jobs run in
 *   any order): a do older than it is ignored, a newer one notifies.
 *   `changed_at` is the stamp of the newest event that touched the key.
 * - `notification_users`: per recipient, the opt-outs (`muted`) and the
 *   live budget's window (`NOTIFY_LIVE_PER_MINUTE`). Every write for a
 *   recipient starts by locking this row, so one recipient's writes run
 *   one at a time however many nodes consume.
 */
export const notificationMigrations: Migration[] = [
  {
    id: 'notifications_001_tables',
    sql: `CREATE TABLE notifications (
      id uuid PRIMARY KEY,
      recipient_id uuid NOT NULL,
      type text NOT NULL,
      group_key text NOT NULL,
      actor_ids uuid[] NOT NULL,
      count integer NOT NULL,
      post_id uuid,
      comment_id uuid,
      snippet text,
      created_at bigint NOT NULL,
      updated_at bigint NOT NULL,
      version integer NOT NULL DEFAULT 1,
      read_at bigint,
      shown_at bigint,
      pushed_at bigint,
      push_due_at bigint
    );
    CREATE INDEX notifications_list ON notifications (recipient_id, updated_at DESC, id DESC);
    CREATE INDEX notifications_unread ON notifications (recipient_id) WHERE read_at IS NULL;
    CREATE UNIQUE INDEX notifications_open ON notifications (recipient_id, group_key)
      WHERE read_at IS NULL AND shown_at IS NULL AND pushed_at IS NULL;
    CREATE INDEX notifications_push_due ON notifications (push_due_at) WHERE push_due_at IS NOT NULL;
    CREATE INDEX notifications_by_post ON notifications (post_id) WHERE post_id IS NOT NULL;
    CREATE TABLE notification_sources (
      recipient_id uuid NOT NULL,
      event_key text NOT NULL,
      actor_id uuid NOT NULL,
      state text NOT NULL CHECK (state IN ('live', 'withdrawn', 'tombstone')),
      notification_id uuid,
      changed_at bigint NOT NULL,
      PRIMARY KEY (recipient_id, event_key)
    );
    CREATE INDEX notification_sources_key ON notification_sources (event_key);
    CREATE INDEX notification_sources_of ON notification_sources (notification_id, changed_at DESC)
      WHERE notification_id IS NOT NULL;
    CREATE TABLE notification_users (
      user_id uuid PRIMARY KEY,
      muted text[] NOT NULL DEFAULT '{}',
      window_start bigint NOT NULL DEFAULT 0,
      window_live integer NOT NULL DEFAULT 0
    );`,
  },
];

/** The columns every read of a notification takes (`NotificationRow`). */
export const NOTIFICATION_COLUMNS = `id::text AS id, recipient_id::text AS recipient_id, type,
  actor_ids::text[] AS actor_ids, count, post_id::text AS post_id, comment_id::text AS comment_id,
  snippet, created_at::float8 AS created_at, updated_at::float8 AS updated_at, version,
  read_at IS NOT NULL AS read, (read_at IS NOT NULL OR shown_at IS NOT NULL OR pushed_at IS NOT NULL) AS seen`;

/** A stored notification, as `NOTIFICATION_COLUMNS` reads it. */
export interface NotificationRow extends Record<string, unknown> {
  id: string;
  recipient_id: string;
  type: NotificationType;
  actor_ids: string[];
  count: number;
  post_id: string | null;
  comment_id: string | null;
  snippet: string | null;
  created_at: number;
  updated_at: number;
  version: number;
  read: boolean;
  seen: boolean;
}
