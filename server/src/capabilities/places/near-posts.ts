import { type MethodParams, type MethodResult, ShutterError } from '@shutter/protocol';
import type { SqlQueryable } from '../../sql/sql.js';
import type { OperationContext } from '../operation.js';
import { type PostRow, type RawPost, toPostRow } from '../posts/post-rows.js';
import { type IdKey, idCursor, NEWEST, newestFirst } from '../search/cursor.js';
import { gatherPosts, type Keyed } from '../search/gather.js';
import { postsIn, seenBy } from '../search/visible-sql.js';
import { coveringCells, EARTH_RADIUS_M } from './cells.js';

const DEFAULT_PAGE = 20;

/**
 * `places.posts`: live posts within `radius` metres of a point, newest
 * first. The covering cells (`cells.ts`) go to every database at once; each
 * reads every cell's index range newest first from the cursor (a LATERAL
 * join: one range per cell, each stopping at `limit + 1` posts within the
 * distance the caller may see), and keeps the newest `limit + 1` of them.
 * Work per page grows with the cells (at most 16, but for a circle around a
 * pole) and the posts in them outside the circle, not with all posts.
 */
export async function nearPosts(
  ctx: OperationContext,
  p: MethodParams<'places.posts'>,
): Promise<MethodResult<'places.posts'>> {
  const max = ctx.config.search.placesMaxRadiusM;
  if (p.radius > max)
    throw new ShutterError('bad_request', `radius is at most ${max} m on this server (asked ${p.radius} m)`);
  const limit = p.limit ?? DEFAULT_PAGE;
  const after = p.cursor === undefined ? NEWEST : idCursor.decode(p.cursor);
  const { precision, cells } = coveringCells(p.lat, p.lon, p.radius);
  return gatherPosts<IdKey>(ctx, {
    limit,
    order: newestFirst,
    cursor: idCursor.encode,
    query: (sql) =>
      nearRows(sql, {
        precision,
        cells,
        lat: p.lat,
        lon: p.lon,
        radius: p.radius,
        viewer: ctx.caller.userId,
        after,
        n: limit + 1,
      }),
  });
}

/** What one database is asked for a page of posts near a point. */
export interface NearAsk {
  precision: number;
  cells: string[];
  lat: number;
  lon: number;
  radius: number;
  viewer: string;
  after: IdKey;
  n: number;
}

/** Haversine distance in metres from ($2, $3) to the post `p`, as `cells.ts` `distanceM`. */
const DISTANCE = `2 * ${EARTH_RADIUS_M} * asin(least(1, sqrt(
    power(sin(radians(p.lat - $2) / 2), 2)
    + cos(radians($2)) * cos(radians(p.lat)) * power(sin(radians(p.lon - $3) / 2), 2))))`;

/** One database's live posts the viewer may see within the radius, newest first after the cursor. */
export async function nearRows(sql: SqlQueryable, a: NearAsk): Promise<Keyed<PostRow, IdKey>[]> {
  // The prefix length is part of the statement (not a parameter) so it matches its index's expression.
  const prefix = `left(p.geohash, ${a.precision})`;
  const r = await sql.query<RawPost>(
    postsIn(
      `SELECT near.id FROM unnest($1::text[]) AS c(cell)
        CROSS JOIN LATERAL (
          SELECT p.id FROM posts p ${seenBy('p.author_id', '$6::uuid')}
           WHERE ${prefix} = c.cell AND p.geohash IS NOT NULL AND p.deleted_at IS NULL
             AND p.id < $5::uuid AND ${DISTANCE} <= $4
           ORDER BY p.id DESC LIMIT $7) near
       ORDER BY near.id DESC LIMIT $7`,
    ),
    [a.cells, a.lat, a.lon, a.radius, a.after.id, a.viewer, a.n],
  );
  return r.rows.map((raw) => {
    const row = toPostRow(raw);
    return { value: row, key: { id: row.id } };
  });
}
