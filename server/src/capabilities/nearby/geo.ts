import ngeohash from 'ngeohash';

/**
 * The geometry of nearby friends: great-circle distances, and the geohash
 * cells (ngeohash) a fix is indexed under and a list scans.
 *
 * A fix is indexed under its cell at each of `INDEX_PRECISIONS` (the
 * coarser cells are prefixes of the finest, which the fix records). A list
 * scans the cells that cover the circle's bounding box at the finest
 * precision whose covering has at most `MAX_SCAN_CELLS` cells; a circle
 * around a pole, or too wide, has none, and the list reads the friends
 * instead (`location-store.ts`).
 */

/** The mean Earth radius (IUGG), in metres: the sphere every distance here is measured on. */
export const EARTH_RADIUS_M = 6_371_008.8;

/** Geohash lengths a fix is indexed at: ~156 km, ~39 × 20 km and ~4.9 × 4.9 km cells (at the equator). */
export const INDEX_PRECISIONS = [3, 4, 5] as const;
/** The finest indexed precision: the cell a fix records. */
export const FIX_PRECISION = 5;
/** The most cells one list scans (the cost of planning a scan grows with them). */
export const MAX_SCAN_CELLS = 48;

export interface LatLon {
  lat: number;
  lon: number;
}

const rad = (deg: number) => (deg * Math.PI) / 180;
const deg = (r: number) => (r * 180) / Math.PI;

/** Great-circle distance between two points, in metres (haversine on the sphere of `EARTH_RADIUS_M`). */
export function haversineMeters(a: LatLon, b: LatLon): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The cell a fix at `p` records (the finest indexed precision). */
export function cellOf(p: LatLon): string {
  return ngeohash.encode(p.lat, p.lon, FIX_PRECISION);
}

/** A box of latitudes and longitudes that does not cross the antimeridian. */
interface Box {
  minLat: number;
  minLon: number;
  maxLat: number;
  maxLon: number;
}

/**
 * The boxes (one, or two split at the antimeridian) that hold every point
 * within `radiusM` of `c`: the spherical circle's bounding coordinates
 * (latitude ± r/R; longitude ± asin(sin(r/R) / cos(lat)), the meridians
 * tangent to the circle). A circle that holds a pole spans every longitude.
 */
export function boundingBoxes(c: LatLon, radiusM: number): Box[] {
  const d = radiusM / EARTH_RADIUS_M + 1e-12;
  const lat = rad(c.lat);
  const minLat = lat - d;
  const maxLat = lat + d;
  if (maxLat >= Math.PI / 2 || minLat <= -Math.PI / 2) {
    return [
      { minLat: Math.max(-90, deg(minLat)), minLon: -180, maxLat: Math.min(90, deg(maxLat)), maxLon: 180 },
    ];
  }
  const s = Math.sin(d) / Math.cos(lat);
  if (s >= 1) return [{ minLat: deg(minLat), minLon: -180, maxLat: deg(maxLat), maxLon: 180 }];
  const dLon = deg(Math.asin(s));
  const [lo, hi] = [c.lon - dLon, c.lon + dLon];
  const box = (minLon: number, maxLon: number): Box => ({
    minLat: deg(minLat),
    minLon,
    maxLat: deg(maxLat),
    maxLon,
  });
  if (lo < -180) return [box(lo + 360, 180), box(-180, hi)];
  if (hi > 180) return [box(lo, 180), box(-180, hi - 360)];
  return [box(lo, hi)];
}

/** Cell height and width in degrees at a geohash length: 5 bits a character, longitude first. */
function cellSize(precision: number): { lat: number; lon: number } {
  const bits = 5 * precision;
  return { lat: 180 / 2 ** Math.floor(bits / 2), lon: 360 / 2 ** Math.ceil(bits / 2) };
}

/** How many cells of `precision` cover a box: the grid's rows times columns between its corners. */
function cellsIn(b: Box, precision: number): number {
  const size = cellSize(precision);
  const index = (v: number, from: number, step: number, n: number) =>
    Math.min(n - 1, Math.floor((v - from) / step));
  const rows = 180 / size.lat;
  const cols = 360 / size.lon;
  const r = index(b.maxLat, -90, size.lat, rows) - index(b.minLat, -90, size.lat, rows) + 1;
  const k = index(b.maxLon, -180, size.lon, cols) - index(b.minLon, -180, size.lon, cols) + 1;
  return r * k;
}

/**
 * The cells a list around `c` with `radiusM` scans: every cell, at the
 * finest indexed precision whose covering has at most `MAX_SCAN_CELLS`, that
 * meets the circle's bounding boxes; undefined when even the coarsest needs
 * more (a circle around a pole: the list reads the friends instead).
 */
export function coveringCells(c: LatLon, radiusM: number): string[] | undefined {
  const boxes = boundingBoxes(c, radiusM);
  for (let i = INDEX_PRECISIONS.length - 1; i >= 0; i--) {
    const p = INDEX_PRECISIONS[i] as number;
    const n = boxes.reduce((sum, b) => sum + cellsIn(b, p), 0);
    if (n > MAX_SCAN_CELLS) continue;
    const cells = new Set<string>();
    for (const b of boxes)
      for (const h of ngeohash.bboxes(b.minLat, b.minLon, b.maxLat, b.maxLon, p)) cells.add(h);
    return [...cells];
  }
  return undefined;
}
