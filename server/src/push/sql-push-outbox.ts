import type { PushNotification, PushOutbox } from '../capabilities/push-outbox.js';
import type { Sql } from '../sql/sql.js';
import type { Databases } from '../storage/databases.js';
import type { StoredMessage } from './outbox-rows.js';

/** Longest title and body pushed, in characters: longer ones are cut with "…" (a lock screen shows less). */
export const MAX_TITLE = 120;
export const MAX_BODY = 512;
/** APNs' limit on `apns-collapse-id`, in bytes; FCM's is looser. */
export const MAX_COLLAPSE_KEY_BYTES = 64;
/** Most bytes of `data` as JSON: APNs and FCM take 4 KB per push, title and body included. */
export const MAX_DATA_BYTES = 2048;
const RESERVED_DATA_KEY = /^(aps|from|notificationId|message_type|collapse_key|google\..*|gcm\..*)$/;

/** A dead push, as operators list it. */
export interface DeadPush {
  userId: string;
  deviceId: string;
  notificationId: string;
  attempts: number;
  lastError: string | null;
  /** ms since the epoch: when it went dead. */
  deadAt: number;
}

/**
 * `PushOutbox` over the `push_outbox` table of each user's database. An
 * enqueue writes one row per device the user has now (one statement per
 * database: the notifications joined to `devices`), due after the
 * push's `delayMs`, a no-op for a (notification, device) already there;
 * `onEnqueued` wakes the node's worker for that database when they are due. A cancel deletes the pending rows of the
 * notifications in every database (a push already handed to the provider
 * cannot be called back).
 */
export class SqlPushOutbox implements PushOutbox {
  constructor(
    private readonly db: Databases,
    /** Pushes were written to `sql`, the first due in `delayMs`. */
    private readonly onEnqueued: (sql: Sql, delayMs: number) => void = () => {},
  ) {}

  async enqueue(items: readonly PushNotification[]): Promise<void> {
    const rows = items.map((n) => ({
      user_id: n.userId,
      notification_id: checkedId(n.notificationId),
      message: storedMessage(n),
      delay_ms: checkedDelay(n.delayMs ?? 0),
    }));
    const byDb = new Map<Sql, typeof rows>();
    for (const r of rows) {
      const sql = this.db.forId(r.user_id);
      byDb.set(sql, [...(byDb.get(sql) ?? []), r]);
    }
    await Promise.all(
      [...byDb].map(async ([sql, part]) => {
        const r = await sql.query(
          `INSERT INTO push_outbox (user_id, device_id, notification_id, message, due_at)
           SELECT d.user_id, d.device_id, n.notification_id, n.message,
             now() + n.delay_ms * interval '1 millisecond'
           FROM jsonb_to_recordset($1::jsonb) AS n(user_id uuid, notification_id text, message jsonb, delay_ms int)
           JOIN devices d ON d.user_id = n.user_id
           ON CONFLICT (user_id, notification_id, device_id) DO NOTHING`,
          [JSON.stringify(part)],
        );
        if (r.rowCount > 0) this.onEnqueued(sql, Math.min(...part.map((x) => x.delay_ms)));
      }),
    );
  }

  async cancel(notificationIds: readonly string[]): Promise<void> {
    if (notificationIds.length === 0) return;
    await Promise.all(
      this.db.all.map((sql) =>
        sql.query(`DELETE FROM push_outbox WHERE notification_id = ANY($1::text[]) AND state = 'pending'`, [
          [...notificationIds],
        ]),
      ),
    );
  }

  /** The newest `limit` dead pushes of every database, newest first. */
  async dead(limit: number): Promise<DeadPush[]> {
    const parts = await Promise.all(
      this.db.all.map(async (sql) => {
        const r = await sql.query<{
          user_id: string;
          device_id: string;
          notification_id: string;
          attempts: number;
          last_error: string | null;
          updated_at: Date;
        }>(
          `SELECT user_id::text AS user_id, device_id, notification_id, attempts, last_error, updated_at
           FROM push_outbox WHERE state = 'dead' ORDER BY updated_at DESC LIMIT $1`,
          [limit],
        );
        return r.rows.map((x) => ({
          userId: x.user_id,
          deviceId: x.device_id,
          notificationId: x.notification_id,
          attempts: x.attempts,
          lastError: x.last_error,
          deadAt: new Date(x.updated_at).getTime(),
        }));
      }),
    );
    return parts
      .flat()
      .sort((a, b) => b.deadAt - a.deadAt)
      .slice(0, limit);
  }

  /** Makes the dead pushes of these notifications pending again with a fresh budget of attempts; answers how many. */
  async retryDead(notificationIds: readonly string[]): Promise<number> {
    const counts = await Promise.all(
      this.db.all.map(async (sql) => {
        const r = await sql.query(
          `UPDATE push_outbox SET state = 'pending', attempts = 0, due_at = now(), updated_at = now()
           WHERE notification_id = ANY($1::text[]) AND state = 'dead'`,
          [[...notificationIds]],
        );
        if (r.rowCount > 0) this.onEnqueued(sql, 0);
        return r.rowCount;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }
}

function checkedId(id: string): string {
  if (typeof id !== 'string' || id.length < 1 || id.length > 128)
    throw new Error(`a push's notificationId is 1 to 128 characters: ${JSON.stringify(id).slice(0, 40)}`);
  return id;
}

/** Longest delay of a push: a day. */
export const MAX_DELAY_MS = 86_400_000;

function checkedDelay(ms: number): number {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_DELAY_MS)
    throw new Error(`a push's delayMs is an integer from 0 to ${MAX_DELAY_MS}: ${ms}`);
  return ms;
}

/** Cuts `text` to `max` characters (code points), ending with "…" when cut. */
function cut(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * The stored part of a push: title and body cut to fit; a collapse key,
 * badge or data the platforms would refuse is a programming error (throws),
 * not a push that dies later.
 */
export function storedMessage(n: PushNotification): StoredMessage {
  const m: StoredMessage = { body: cut(n.body, MAX_BODY) };
  if (n.title !== undefined) m.title = cut(n.title, MAX_TITLE);
  if (n.collapseKey !== undefined) {
    const bytes = Buffer.byteLength(n.collapseKey);
    if (bytes < 1 || bytes > MAX_COLLAPSE_KEY_BYTES)
      throw new Error(`a push's collapseKey is 1 to ${MAX_COLLAPSE_KEY_BYTES} bytes`);
    m.collapseKey = n.collapseKey;
  }
  if (n.badge !== undefined) {
    if (!Number.isInteger(n.badge) || n.badge < 0 || n.badge > 999_999)
      throw new Error(`a push's badge is an integer from 0 to 999999: ${n.badge}`);
    m.badge = n.badge;
  }
  if (n.data !== undefined) {
    for (const [k, v] of Object.entries(n.data)) {
      if (RESERVED_DATA_KEY.test(k)) throw new Error(`a push's data may not use the key ${k}`);
      if (typeof v !== 'string') throw new Error(`a push's data values are strings (${k})`);
    }
    if (Buffer.byteLength(JSON.stringify(n.data)) > MAX_DATA_BYTES)
      throw new Error(`a push's data is at most ${MAX_DATA_BYTES} bytes of JSON`);
    m.data = { ...n.data };
  }
  return m;
}
