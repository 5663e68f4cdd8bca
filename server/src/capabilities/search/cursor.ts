import { isId, ShutterError } from '@shutter/protocol';

/**
 * The cursors of the search lists: opaque to clients, each names the last
 * entry of its page by the list's sort key, which holds across databases
 * (ids are unique and time-ordered everywhere, names and counts are values),
 * so the next page asks every database for what comes after it, whichever
 * database that entry came from and however logical shards later move.
 * Anything that does not decode to the list's kind is `invalid_cursor`.
 */

/** Newest first: the last id shown (hashtag recent, caption search, places). */
export interface IdKey {
  id: string;
}
/** Most liked first, ties newest first (hashtag top). */
export interface TopKey {
  likes: number;
  id: string;
}
/** People I follow first, then by the matching name (user search). */
export interface NameKey {
  followed: boolean;
  name: string;
  id: string;
}

const PREFIX = 's1:';

function encode(parts: readonly unknown[]): string {
  return Buffer.from(PREFIX + JSON.stringify(parts)).toString('base64url');
}

function decode(cursor: string, kind: string): unknown[] {
  const text = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  let parts: unknown;
  try {
    parts = text.startsWith(PREFIX) ? JSON.parse(text.slice(PREFIX.length)) : undefined;
  } catch {
    parts = undefined;
  }
  if (!Array.isArray(parts) || parts[0] !== kind) throw invalid();
  return parts.slice(1);
}

function invalid(): ShutterError {
  return new ShutterError('invalid_cursor', 'this cursor was not made by this list; start over without one');
}

function id(v: unknown): string {
  if (typeof v !== 'string' || !isId(v)) throw invalid();
  return v;
}

export const idCursor = {
  encode: (k: IdKey): string => encode(['i', k.id]),
  decode: (cursor: string): IdKey => {
    const [v] = decode(cursor, 'i');
    return { id: id(v) };
  },
};

export const topCursor = {
  encode: (k: TopKey): string => encode(['t', k.likes, k.id]),
  decode: (cursor: string): TopKey => {
    const [likes, v] = decode(cursor, 't');
    if (typeof likes !== 'number' || !Number.isSafeInteger(likes) || likes < 0) throw invalid();
    return { likes, id: id(v) };
  },
};

export const nameCursor = {
  encode: (k: NameKey): string => encode(['n', k.followed ? 1 : 0, k.name, k.id]),
  decode: (cursor: string): NameKey => {
    const [followed, name, v] = decode(cursor, 'n');
    if ((followed !== 0 && followed !== 1) || typeof name !== 'string' || name.length > 200) throw invalid();
    return { followed: followed === 1, name, id: id(v) };
  },
};

/** Newest first by id (UUIDv7 text sorts as its time). */
export const newestFirst = (a: IdKey, b: IdKey): number => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export const mostLikedFirst = (a: TopKey, b: TopKey): number => b.likes - a.likes || newestFirst(a, b);

/**
 * Followed first, then by name in code-point order (what PostgreSQL's "C"
 * collation sorts by: the bytes of UTF-8), then by id.
 */
export const byName = (a: NameKey, b: NameKey): number =>
  Number(b.followed) - Number(a.followed) ||
  Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)) ||
  (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Above every id: where a newest-first list starts (keeps the id condition one index bound). */
export const NEWEST: IdKey = { id: 'ffffffff-ffff-ffff-ffff-ffffffffffff' };

/** Above every like count (a PostgreSQL integer): where a most-liked-first list starts. */
export const MOST_LIKED: TopKey = { likes: 2_147_483_647, id: NEWEST.id };
