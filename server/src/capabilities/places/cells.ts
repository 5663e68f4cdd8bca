import geohash from 'ngeohash';

/**
 * Which geohash cells hold every point within a radius of a centre: the
 * classic proximity design (the cell of the point and its neighbours), made
 * exact at the edges of the map. Cells come from ngeohash; the posts table
 * stores each post's geohash (`places-table.ts`), and indexes its prefixes
 * of the precisions listed here, so a query reads a few index ranges.
 */

/** Mean Earth radius (IUGG), in metres: the SQL distance uses the same. */
export const EARTH_RADIUS_M = 6_371_008.8;

/** Geohash lengths with an index on the posts table (`places-table.ts`), finest first. */
export const INDEXED_PRECISIONS = [7, 6, 5, 4, 3] as const;

/**
 * The most cells a query reads at a precision finer than the coarsest: the
 * finest precision whose covering needs at most this many wins. A covering
 * of 3 × 3 cells (the centre's and its eight neighbours) is what a radius up
 * to one cell needs; up to 16 lets a finer precision cover a smaller area
 * (fewer posts outside the circle to skip) for a few more index probes.
 */
export const MAX_CELLS = 16;

/** Degrees added around the circle's box, against rounding between this and SQL's distance. */
const MARGIN_DEG = 1e-7;

export interface Box {
  minLat: number;
  minLon: number;
  maxLat: number;
  maxLon: number;
}

const deg = (rad: number) => (rad * 180) / Math.PI;
const rad = (d: number) => (d * Math.PI) / 180;

/**
 * The latitude/longitude boxes that hold the circle (a spherical cap): one,
 * or two when it crosses the antimeridian; a circle around a pole takes
 * every longitude. The longitude half-width is that of the cap's tangent
 * meridians, `asin(sin(r) / cos(lat))`, not `r / cos(lat)`.
 */
export function boundingBoxes(lat: number, lon: number, radiusM: number): Box[] {
  const d = radiusM / EARTH_RADIUS_M;
  const minLat = lat - deg(d) - MARGIN_DEG;
  const maxLat = lat + deg(d) + MARGIN_DEG;
  if (maxLat >= 90 || minLat <= -90 || d >= Math.PI / 2)
    return [{ minLat: Math.max(-90, minLat), minLon: -180, maxLat: Math.min(90, maxLat), maxLon: 180 }];
  const half = deg(Math.asin(Math.min(1, Math.sin(d) / Math.cos(rad(lat))))) + MARGIN_DEG;
  if (half >= 180) return [{ minLat, minLon: -180, maxLat, maxLon: 180 }];
  const west = lon - half;
  const east = lon + half;
  if (west < -180)
    return [
      { minLat, minLon: west + 360, maxLat, maxLon: 180 },
      { minLat, minLon: -180, maxLat, maxLon: east },
    ];
  if (east > 180)
    return [
      { minLat, minLon: west, maxLat, maxLon: 180 },
      { minLat, minLon: -180, maxLat, maxLon: east - 360 },
    ];
  return [{ minLat, minLon: west, maxLat, maxLon: east }];
}

/** How many cells of `precision` characters cover the box (one more per side at most: for choosing). */
export function cellCount(box: Box, precision: number): number {
  const bits = precision * 5;
  const lonCells = 2 ** Math.ceil(bits / 2);
  const latCells = 2 ** Math.floor(bits / 2);
  const index = (v: number, lo: number, span: number, n: number) =>
    Math.min(n - 1, Math.max(0, Math.floor(((v - lo) / span) * n)));
  const cols = index(box.maxLon, -180, 360, lonCells) - index(box.minLon, -180, 360, lonCells) + 1;
  const rows = index(box.maxLat, -90, 180, latCells) - index(box.minLat, -90, 180, latCells) + 1;
  return cols * rows;
}

/**
 * The cells to read for posts within `radiusM` of (`lat`, `lon`): the
 * finest indexed precision whose covering takes at most MAX_CELLS cells,
 * else the coarsest (a circle around a pole, which takes every longitude).
 * Every point of the circle lies in one of them (a superset: the query
 * then keeps the posts within the distance).
 */
export function coveringCells(
  lat: number,
  lon: number,
  radiusM: number,
): { precision: number; cells: string[] } {
  const boxes = boundingBoxes(lat, lon, radiusM);
  const coarsest = INDEXED_PRECISIONS[INDEXED_PRECISIONS.length - 1] as number;
  const precision =
    INDEXED_PRECISIONS.find((p) => boxes.reduce((n, b) => n + cellCount(b, p), 0) <= MAX_CELLS) ?? coarsest;
  const cells = new Set<string>();
  for (const b of boxes)
    for (const c of geohash.bboxes(b.minLat, b.minLon, b.maxLat, b.maxLon, precision)) cells.add(c);
  return { precision, cells: [...cells].sort() };
}

/** Great-circle distance in metres (haversine), as the SQL of `near-posts.ts` computes it. */
export function distanceM(lat1: number, lon1: number, lat2: number, lon2: number): number {
  const a =
    Math.sin(rad(lat2 - lat1) / 2) ** 2 +
    Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(rad(lon2 - lon1) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}
