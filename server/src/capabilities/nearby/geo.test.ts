import fc from 'fast-check';
import ngeohash from 'ngeohash';
import { describe, expect, it } from 'vitest';
import {
  boundingBoxes,
  cellOf,
  coveringCells,
  haversineMeters,
  INDEX_PRECISIONS,
  MAX_SCAN_CELLS,
} from './geo.js';

/** The point `d` metres from `p` on initial bearing `bearing` (radians), on the same sphere. */
function destination(p: { lat: number; lon: number }, d: number, bearing: number) {
  const R = 6_371_008.8;
  const φ1 = (p.lat * Math.PI) / 180;
  const λ1 = (p.lon * Math.PI) / 180;
  const δ = d / R;
  const φ2 = Math.asin(Math.sin(φ1) * Math.cos(δ) + Math.cos(φ1) * Math.sin(δ) * Math.cos(bearing));
  const λ2 =
    λ1 +
    Math.atan2(Math.sin(bearing) * Math.sin(δ) * Math.cos(φ1), Math.cos(δ) - Math.sin(φ1) * Math.sin(φ2));
  return { lat: (φ2 * 180) / Math.PI, lon: (((λ2 * 180) / Math.PI + 540) % 360) - 180 };
}

describe('haversineMeters', () => {
  it('measures known distances on the mean-radius sphere', () => {
    // One degree of latitude: πR/180.
    expect(haversineMeters({ lat: 0, lon: 0 }, { lat: 1, lon: 0 })).toBeCloseTo(111_195.08, 1);
    // Across the antimeridian the short way round.
    expect(haversineMeters({ lat: 0, lon: 179.99 }, { lat: 0, lon: -179.99 })).toBeCloseTo(2223.9, 1);
    // Paris – London, about 343.5 km on this sphere.
    const d = haversineMeters({ lat: 48.8566, lon: 2.3522 }, { lat: 51.5074, lon: -0.1278 });
    expect(d).toBeGreaterThan(343_000);
    expect(d).toBeLessThan(344_000);
    expect(haversineMeters({ lat: 89.9, lon: 0 }, { lat: 89.9, lon: 180 })).toBeCloseTo(22_239, 0);
  });
});

describe('coveringCells', () => {
  it('every point within the radius lies in a covering cell (anywhere on Earth, antimeridian and poles too)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -90, max: 90, noNaN: true }),
        fc.double({ min: -180, max: 180, noNaN: true }),
        fc.integer({ min: 100, max: 50_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 2 * Math.PI, noNaN: true }),
        (lat, lon, radius, frac, bearing) => {
          const c = { lat, lon };
          const cells = coveringCells(c, radius);
          const p = destination(c, radius * frac, bearing);
          if (haversineMeters(c, p) > radius) return;
          if (cells === undefined) {
            // Only a circle that holds a pole, or too wide for the coarsest cells, has no covering.
            const [box] = boundingBoxes(c, radius);
            expect(box!.maxLon - box!.minLon).toBeGreaterThan(3);
            return;
          }
          expect(cells.length).toBeLessThanOrEqual(MAX_SCAN_CELLS);
          const precision = cells[0]!.length;
          expect(cells).toContain(cellOf(p).slice(0, precision));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('covers both sides of the antimeridian and every cell edge near the centre', () => {
    const c = { lat: 0.00001, lon: 179.999 };
    const cells = coveringCells(c, 2000)!;
    expect(cells.some((h) => ngeohash.decode(h).longitude > 0)).toBe(true);
    expect(cells.some((h) => ngeohash.decode(h).longitude < 0)).toBe(true);
    // The centre sits on a cell corner (the equator): all four cells around it are scanned.
    for (const p of [
      { lat: 0.001, lon: 179.9999 },
      { lat: -0.001, lon: 179.9999 },
      { lat: 0.001, lon: -179.9999 },
      { lat: -0.001, lon: -179.9999 },
    ])
      expect(cells).toContain(cellOf(p).slice(0, cells[0]!.length));
  });

  it('picks the finest indexed precision that fits, and none around a pole', () => {
    expect(coveringCells({ lat: 48.85, lon: 2.35 }, 8047)![0]!.length).toBe(5);
    expect(coveringCells({ lat: 40, lon: -74 }, 50_000)![0]!.length).toBe(4);
    expect(coveringCells({ lat: 89.99, lon: 0 }, 8047)).toBeUndefined();
    expect(coveringCells({ lat: -89.999, lon: 0 }, 100)).toBeUndefined();
    expect(INDEX_PRECISIONS.at(-1)).toBe(cellOf({ lat: 1, lon: 1 }).length);
  });
});
