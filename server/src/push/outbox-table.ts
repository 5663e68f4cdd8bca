import type { Migration } from '../sql/sql.js';

/**
 * `push_outbox`: one row per push to one device (a notification × each
 * device the user had when it was enqueued), in the user's database, beside
 * the `devices` it joins at send time (so a refreshed token is used, and a
 * removed device is not tried).
 *
 * `state`: `pending` (due at `due_at`; while a node sends it, `due_at` is
 * that node's lease), then `sent`, `dead` (attempts spent, or refused for
 * good: kept for operators) or `dropped` (the device was gone by then, or
 * the provider said its token is). `attempts` counts claims and fences every
 * write of a claim: a node whose lease ran out cannot settle the row.
 * Unique per (user, notification, device): enqueueing again is a no-op.
 */
export const pushOutboxMigrations: Migration[] = [
  {
    id: 'push_001_outbox',
    sql: `CREATE TABLE push_outbox (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id uuid NOT NULL,
      device_id text NOT NULL,
      notification_id text NOT NULL,
      message jsonb NOT NULL,
      state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead', 'dropped')),
      attempts int NOT NULL DEFAULT 0,
      due_at timestamptz NOT NULL DEFAULT now(),
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (user_id, notification_id, device_id)
    )`,
  },
  // One statement per migration: PGlite runs each as a prepared statement.
  {
    id: 'push_002_due',
    sql: `CREATE INDEX push_outbox_due ON push_outbox (due_at) WHERE state = 'pending'`,
  },
  {
    id: 'push_003_by_notification',
    sql: `CREATE INDEX push_outbox_pending_notification ON push_outbox (notification_id) WHERE state = 'pending'`,
  },
  {
    id: 'push_004_settled',
    sql: `CREATE INDEX push_outbox_settled ON push_outbox (state, updated_at) WHERE state <> 'pending'`,
  },
];
