import { isId, ShutterError } from '@shutter/protocol';

/**
 * The cursor of a user's post list: opaque to clients, it names the last
 * post of the page (lists go newest first by id, so the next page is the
 * ids below it). Anything that does not decode to one is `invalid_cursor`.
 */
const PREFIX = 'p1:';

export function encodeCursor(lastPostId: string): string {
  return Buffer.from(PREFIX + lastPostId).toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const text = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const id = text.startsWith(PREFIX) ? text.slice(PREFIX.length) : '';
  if (!isId(id))
    throw new ShutterError('invalid_cursor', 'this cursor was not made by this list; start over without one');
  return id;
}
