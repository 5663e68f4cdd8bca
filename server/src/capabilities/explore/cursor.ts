import { ShutterError } from '@shutter/protocol';
import type { ExplorePosition } from './mix.js';

/** An explore cursor, opaque to clients: the position after a page's last item, as base64url of four numbers. */
export function encodeExploreCursor(p: ExplorePosition): string {
  return Buffer.from(JSON.stringify([p.k, p.personal, p.trending, p.popular])).toString('base64url');
}

/** The position a cursor carries; `invalid_cursor` for anything `encodeExploreCursor` did not make. */
export function decodeExploreCursor(cursor: string): ExplorePosition {
  const p = parse(cursor);
  if (p && encodeExploreCursor(p) === cursor) return p;
  throw new ShutterError(
    'invalid_cursor',
    'this cursor was not made by explore.get: start from the first page',
  );
}

function parse(cursor: string): ExplorePosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(v) || v.length !== 4 || !v.every((n) => Number.isSafeInteger(n) && n >= 0))
    return undefined;
  const [k, personal, trending, popular] = v as number[];
  return {
    k: k as number,
    personal: personal as number,
    trending: trending as number,
    popular: popular as number,
  };
}
