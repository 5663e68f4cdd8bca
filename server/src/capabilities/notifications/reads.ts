import {
  isId,
  type MethodParams,
  type MethodResult,
  NOTIFICATION_TYPES,
  type NotificationType,
  ShutterError,
} from '@shutter/protocol';
import type { CapabilityPorts } from '../operation.js';
import { toWire } from './render.js';
import { NOTIFICATION_COLUMNS, type NotificationRow } from './tables.js';
import { unreadIn } from './writer.js';

/**
 * The cursor of a notifications page: opaque to clients, it names the last
 * row of the page by its sort key (`updated_at`, `id`), newest first.
 */
const PREFIX = 'n1:';

export function encodeCursor(updatedAt: number, id: string): string {
  return Buffer.from(`${PREFIX}${updatedAt}:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): { updatedAt: number; id: string } {
  const text = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const [at, id] = text.startsWith(PREFIX) ? text.slice(PREFIX.length).split(':') : [];
  const updatedAt = Number(at);
  if (!id || !isId(id) || !Number.isSafeInteger(updatedAt) || updatedAt < 0)
    throw new ShutterError(
      'invalid_cursor',
      'this cursor was not made by notifications.list; start over without one',
    );
  return { updatedAt, id };
}

/** A page of the user's notifications, most recently changed first, from their own database. */
export async function listNotifications(
  ports: CapabilityPorts,
  userId: string,
  p: MethodParams<'notifications.list'>,
): Promise<MethodResult<'notifications.list'>> {
  const limit = p.limit ?? 20;
  const after = p.cursor ? decodeCursor(p.cursor) : undefined;
  const sql = ports.db.forId(userId);
  const [rows, unreadCount] = await Promise.all([
    sql.query<NotificationRow>(
      `SELECT ${NOTIFICATION_COLUMNS} FROM notifications
        WHERE recipient_id = $1 AND ($2::bigint IS NULL OR (updated_at, id) < ($2::bigint, $3::uuid))
        ORDER BY updated_at DESC, id DESC LIMIT $4`,
      [userId, after?.updatedAt ?? null, after?.id ?? null, limit + 1],
    ),
    unreadIn(sql, userId),
  ]);
  const page = rows.rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: await toWire(ports.db, page, false),
    nextCursor: rows.rows.length > limit && last ? encodeCursor(last.updated_at, last.id) : null,
    unreadCount,
  };
}

/** The user's muted types, in the protocol's order. */
export async function mutedTypes(ports: CapabilityPorts, userId: string): Promise<NotificationType[]> {
  const r = await ports.db
    .forId(userId)
    .query<{ muted: string[] }>('SELECT muted FROM notification_users WHERE user_id = $1', [userId]);
  const muted = new Set(r.rows[0]?.muted ?? []);
  return NOTIFICATION_TYPES.filter((t) => muted.has(t));
}

/** Replaces the user's muted types (applied by every write from now on: the writer reads them under its lock). */
export async function setMutedTypes(
  ports: CapabilityPorts,
  userId: string,
  muted: readonly NotificationType[],
): Promise<NotificationType[]> {
  const sorted = NOTIFICATION_TYPES.filter((t) => muted.includes(t));
  await ports.db.forId(userId).query(
    `INSERT INTO notification_users (user_id, muted) VALUES ($1, $2::text[])
     ON CONFLICT (user_id) DO UPDATE SET muted = EXCLUDED.muted`,
    [userId, sorted],
  );
  return sorted;
}
