import { isId, ShutterError } from '@shutter/protocol';

/**
 * A trending cursor, opaque to clients: where the page ended in its source
 * — after a (score, post) in the trending set, or at an offset of the
 * popular list. base64url of a small JSON.
 */
export type TrendingCursor = { s: 'trending'; score: number; id: string } | { s: 'popular'; offset: number };

export function encodeTrendingCursor(c: TrendingCursor): string {
  const short = c.s === 'trending' ? { t: [c.score, c.id] } : { p: c.offset };
  return Buffer.from(JSON.stringify(short)).toString('base64url');
}

/** The position a cursor carries; `invalid_cursor` for anything `encodeTrendingCursor` did not make. */
export function decodeTrendingCursor(cursor: string): TrendingCursor {
  const c = parse(cursor);
  if (c && encodeTrendingCursor(c) === cursor) return c;
  throw new ShutterError(
    'invalid_cursor',
    'this cursor was not made by trending.get: start from the first page',
  );
}

function parse(cursor: string): TrendingCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,300}$/.test(cursor)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as { t?: unknown; p?: unknown };
  if (Array.isArray(o.t) && o.t.length === 2) {
    const [score, id] = o.t as unknown[];
    if (typeof score === 'number' && Number.isFinite(score) && typeof id === 'string' && isId(id))
      return { s: 'trending', score, id };
  }
  if (typeof o.p === 'number' && Number.isSafeInteger(o.p) && o.p >= 0) return { s: 'popular', offset: o.p };
  return undefined;
}
