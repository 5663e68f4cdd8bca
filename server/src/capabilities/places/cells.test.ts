import geohash from 'ngeohash';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../testing/seeded-random.js';
import { boundingBoxes, coveringCells, distanceM, EARTH_RADIUS_M, MAX_CELLS } from './cells.js';

/** The point `distance` metres from (lat, lon) on `bearing` (radians): the direct geodesic on a sphere. */
function destination(lat: number, lon: number, distance: number, bearing: number): [number, number] {
  const d = distance / EARTH_RADIUS_M;
  const f1 = (lat * Math.PI) / 180;
  const l1 = (lon * Math.PI) / 180;
  const f2 = Math.asin(Math.sin(f1) * Math.cos(d) + Math.cos(f1) * Math.sin(d) * Math.cos(bearing));
  const l2 =
    l1 +
    Math.atan2(Math.sin(bearing) * Math.sin(d) * Math.cos(f1), Math.cos(d) - Math.sin(f1) * Math.sin(f2));
  const lon2 = (((((l2 * 180) / Math.PI + 540) % 360) + 360) % 360) - 180;
  return [(f2 * 180) / Math.PI, lon2];
}

/** Checks that every sampled point within the radius lies in one of the covering cells. */
function expectCovered(lat: number, lon: number, radius: number, rand: () => number, samples = 400): void {
  const { precision, cells } = coveringCells(lat, lon, radius);
  const set = new Set(cells);
  for (let i = 0; i < samples; i++) {
    // Half the samples on the rim (just inside), half anywhere inside.
    const r = i % 2 === 0 ? radius * (1 - 1e-9) : radius * Math.sqrt(rand());
    const [plat, plon] = destination(lat, lon, r, rand() * 2 * Math.PI);
    if (distanceM(lat, lon, plat, plon) > radius) continue;
    const cell = geohash.encode(plat, plon, precision);
    if (!set.has(cell))
      throw new Error(
        `(${plat}, ${plon}) at ${r} m of (${lat}, ${lon}) r=${radius}: ${cell} not in ${cells}`,
      );
  }
}

describe('covering cells', () => {
  it('hold every point of the circle, anywhere on the map and at every radius', () => {
    const rand = seededRandom(7);
    for (let k = 0; k < 300; k++) {
      const lat = rand() * 180 - 90;
      const lon = rand() * 360 - 180;
      const radius = 1 + rand() ** 3 * 200_000;
      expectCovered(lat, lon, radius, rand, 60);
    }
  });

  it('hold the circle across the antimeridian, at the poles and on cell edges', () => {
    const rand = seededRandom(11);
    const cases: [number, number, number][] = [
      [10, 179.999, 5000],
      [10, -179.999, 5000],
      [-33.9, 180, 20_000],
      [64.1, -180, 50_000],
      [89.99, 12, 3000],
      [-89.5, -70, 80_000],
      [90, 0, 100],
      [-90, 0, 100],
      [0, 0, 10],
      [45, 45, 1],
      // On geohash cell edges (longitude 0 and 45, latitude 0 and 22.5 are edges at every precision).
      [22.5, 45, 2000],
      [0, -90, 150],
    ];
    for (const [lat, lon, radius] of cases) expectCovered(lat, lon, radius, rand);
  });

  it('takes a few cells of a fine precision for a small circle, as the classic 3 × 3', () => {
    const { precision, cells } = coveringCells(48.8566, 2.3522, 1000);
    expect(cells.length).toBeLessThanOrEqual(MAX_CELLS);
    expect(precision).toBe(6);
    // The centre's cell and its eight neighbours at the next coarser precision cover it too.
    const coarse = geohash.encode(48.8566, 2.3522, 5);
    const classic = new Set([coarse, ...geohash.neighbors(coarse)]);
    for (const c of cells) expect(classic.has(c.slice(0, 5))).toBe(true);
  });

  it('splits a box at the antimeridian and takes every longitude around a pole', () => {
    expect(boundingBoxes(0, 179.99, 5000)).toHaveLength(2);
    expect(boundingBoxes(0, -179.99, 5000)).toHaveLength(2);
    const polar = boundingBoxes(89.99, 0, 5000);
    expect(polar).toEqual([{ minLat: expect.any(Number), minLon: -180, maxLat: 90, maxLon: 180 }]);
  });

  it('measures great-circle distances', () => {
    // Paris–London, about 343.5 km; a degree of latitude, about 111.2 km.
    expect(distanceM(48.8566, 2.3522, 51.5074, -0.1278) / 1000).toBeCloseTo(343.5, 0);
    expect(distanceM(0, 0, 1, 0)).toBeCloseTo(111_195, -1);
    expect(distanceM(0, 179.9, 0, -179.9)).toBeCloseTo(distanceM(0, 0, 0, 0.2), 6);
  });
});
