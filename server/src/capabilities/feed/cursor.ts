import { isId, ShutterError } from '@shutter/protocol';

/**
 * A feed cursor: the last id of a page, as 22 characters of base64url (its
 * 16 bytes). Opaque to clients; the next page holds ids strictly older.
 */
export function encodeCursor(id: string): string {
  return Buffer.from(id.replaceAll('-', ''), 'hex').toString('base64url');
}

/** The id a cursor carries; `invalid_cursor` for anything `encodeCursor` did not make. */
export function decodeCursor(cursor: string): string {
  if (/^[A-Za-z0-9_-]{22}$/.test(cursor)) {
    const hex = Buffer.from(cursor, 'base64url').toString('hex');
    const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    if (isId(id) && encodeCursor(id) === cursor) return id;
  }
  throw new ShutterError('invalid_cursor', 'this cursor was not made by feed.get: start from the first page');
}
