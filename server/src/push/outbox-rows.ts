import type { Sql } from '../sql/sql.js';
import type { PushPlatform } from './provider.js';

/** The part of a push the outbox stores once per device (`push_outbox.message`). */
export interface StoredMessage {
  title?: string;
  body: string;
  collapseKey?: string;
  badge?: number;
  data?: Record<string, string>;
}

/** A push row this node claimed, with its device as registered now (none: the device is gone). */
export interface ClaimedPush {
  id: string;
  userId: string;
  deviceId: string;
  notificationId: string;
  message: StoredMessage;
  /** This claim's number: fences every write of it. */
  attempts: number;
  device: { platform: PushPlatform; token: string; appId: string | null; locale: string | null } | undefined;
}

interface ClaimRow extends Record<string, unknown> {
  id: string;
  user_id: string;
  device_id: string;
  notification_id: string;
  message: StoredMessage;
  attempts: number;
  platform: PushPlatform | null;
  token: string | null;
  app_id: string | null;
  locale: string | null;
}

/**
 * Claims up to `n` due pushes of one database for `leaseMs`: one statement
 * (`FOR UPDATE SKIP LOCKED`, so concurrent claimers on other nodes take
 * other rows and none waits), no transaction left open while sending. A
 * claim moves `due_at` to the lease's end and counts an attempt; a row whose
 * node died is due again when the lease ends.
 */
export async function claimDue(sql: Sql, n: number, leaseMs: number): Promise<ClaimedPush[]> {
  const r = await sql.query<ClaimRow>(
    `WITH due AS (
       SELECT id FROM push_outbox WHERE state = 'pending' AND due_at <= now()
       ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED
     ), claimed AS (
       UPDATE push_outbox o SET attempts = o.attempts + 1, due_at = now() + $2 * interval '1 millisecond',
         updated_at = now()
       FROM due WHERE o.id = due.id
       RETURNING o.id, o.user_id, o.device_id, o.notification_id, o.message, o.attempts
     )
     SELECT c.id::text AS id, c.user_id::text AS user_id, c.device_id, c.notification_id, c.message, c.attempts,
       d.platform, d.token, d.app_id, d.locale
     FROM claimed c LEFT JOIN devices d ON d.user_id = c.user_id AND d.device_id = c.device_id`,
    [n, leaseMs],
  );
  return r.rows.map((row) => ({
    id: row.id,
    userId: row.user_id,
    deviceId: row.device_id,
    notificationId: row.notification_id,
    message: row.message,
    attempts: row.attempts,
    device:
      row.platform && row.token
        ? { platform: row.platform, token: row.token, appId: row.app_id, locale: row.locale }
        : undefined,
  }));
}

/** How a claimed push ends its attempt. */
export type Settlement =
  | { state: 'sent' }
  | { state: 'retry'; delayMs: number; error: string }
  | { state: 'dead'; error: string }
  | { state: 'dropped'; error: string }
  /** The node stopped mid-send: due again now, the attempt not counted. */
  | { state: 'released' };

/**
 * Writes the end of a claim, only if the claim still holds (same attempt,
 * still pending): false when another node claimed the row since (the lease
 * ran out) or it was cancelled.
 */
export async function settle(sql: Sql, p: ClaimedPush, s: Settlement): Promise<boolean> {
  const fence = 'WHERE id = $1 AND attempts = $2 AND state = $3';
  const at = [p.id, p.attempts, 'pending'];
  let r: { rowCount: number };
  switch (s.state) {
    case 'sent':
      r = await sql.query(`UPDATE push_outbox SET state = 'sent', updated_at = now() ${fence}`, at);
      break;
    case 'retry':
      r = await sql.query(
        `UPDATE push_outbox SET due_at = now() + $4 * interval '1 millisecond', last_error = $5, updated_at = now() ${fence}`,
        [...at, s.delayMs, s.error],
      );
      break;
    case 'dead':
    case 'dropped':
      r = await sql.query(`UPDATE push_outbox SET state = $4, last_error = $5, updated_at = now() ${fence}`, [
        ...at,
        s.state,
        s.error,
      ]);
      break;
    case 'released':
      r = await sql.query(
        `UPDATE push_outbox SET due_at = now(), attempts = attempts - 1, updated_at = now() ${fence}`,
        at,
      );
      break;
  }
  return r.rowCount > 0;
}

/** Most rows one sweep deletes per database (the next sweep takes the rest). */
const SWEEP_BATCH = 5000;

/**
 * Deletes settled rows past their keep time (sent and dropped after
 * `keepMs`, dead after `keepDeadMs`) and answers how many dead rows remain.
 */
export async function sweep(sql: Sql, keepMs: number, keepDeadMs: number): Promise<number> {
  await sql.query(
    `DELETE FROM push_outbox WHERE id IN (
       SELECT id FROM push_outbox
       WHERE (state IN ('sent', 'dropped') AND updated_at < now() - $1 * interval '1 millisecond')
          OR (state = 'dead' AND updated_at < now() - $2 * interval '1 millisecond')
       LIMIT $3)`,
    [keepMs, keepDeadMs, SWEEP_BATCH],
  );
  const r = await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM push_outbox WHERE state = 'dead'`);
  return r.rows[0]?.n ?? 0;
}

/**
 * Marks many claimed pushes of one database sent in one statement, each
 * only if its claim still holds; answers the ids that were.
 */
export async function markSent(sql: Sql, pushes: readonly ClaimedPush[]): Promise<Set<string>> {
  const r = await sql.query<{ id: string }>(
    `UPDATE push_outbox o SET state = 'sent', updated_at = now()
     FROM unnest($1::bigint[], $2::int[]) AS x(id, attempts)
     WHERE o.id = x.id AND o.attempts = x.attempts AND o.state = 'pending'
     RETURNING o.id::text AS id`,
    [pushes.map((p) => p.id), pushes.map((p) => p.attempts)],
  );
  return new Set(r.rows.map((x) => x.id));
}
