import type { Migration } from '../../sql/sql.js';
import { INDEXED_PRECISIONS } from './cells.js';

/** Length of the geohash stored with each post (about 4.8 m × 4.8 m): finer than any indexed prefix. */
export const STORED_PRECISION = 9;

/**
 * The geohash of a point, as ngeohash's `encode` makes it: the same bits,
 * so the cells the query side names (ngeohash) are the cells the rows are
 * stored in. ngeohash bisects (a value on an edge goes to the lower half);
 * here each coordinate's cell index is computed at once and settled on the
 * same rule with exact comparisons (cell edges are exact in binary
 * floating point), then the bits are interleaved (longitude first) and
 * written in geohash's base 32. A test compares it with ngeohash on random
 * and edge points. About 5 µs a row (bulk loads and the backfill).
 */
const GEOHASH_FUNCTION = `CREATE FUNCTION geohash_encode(lat double precision, lon double precision, chars integer)
RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  lon_bits integer := (chars * 5 + 1) / 2;
  lat_bits integer := chars * 5 / 2;
  nx bigint := 1::bigint << lon_bits;
  ny bigint := 1::bigint << lat_bits;
  wx double precision := 360.0 / nx;
  wy double precision := 180.0 / ny;
  x bigint := least(greatest(floor((lon + 180) / wx), 0), nx - 1);
  y bigint := least(greatest(floor((lat + 90) / wy), 0), ny - 1);
  z bigint;
  out text := '';
BEGIN
  IF x > 0 AND NOT (-180 + x * wx < lon) THEN x := x - 1;
  ELSIF x < nx - 1 AND -180 + (x + 1) * wx < lon THEN x := x + 1; END IF;
  IF y > 0 AND NOT (-90 + y * wy < lat) THEN y := y - 1;
  ELSIF y < ny - 1 AND -90 + (y + 1) * wy < lat THEN y := y + 1; END IF;
  -- Spread each index's bits to every other position (a Morton code).
  x := (x | (x << 16)) & 281470681808895;
  x := (x | (x << 8)) & 71777214294589695;
  x := (x | (x << 4)) & 1085102592571150095;
  x := (x | (x << 2)) & 3689348814741910323;
  x := (x | (x << 1)) & 6148914691236517205;
  y := (y | (y << 16)) & 281470681808895;
  y := (y | (y << 8)) & 71777214294589695;
  y := (y | (y << 4)) & 1085102592571150095;
  y := (y | (y << 2)) & 3689348814741910323;
  y := (y | (y << 1)) & 6148914691236517205;
  z := CASE WHEN lon_bits > lat_bits THEN x | (y << 1) ELSE (x << 1) | y END;
  FOR i IN REVERSE chars - 1 .. 0 LOOP
    out := out || substr('0123456789bcdefghjkmnpqrstuvwxyz', ((z >> (5 * i)) & 31)::integer + 1, 1);
  END LOOP;
  RETURN out;
END $$;`;

/**
 * Places on the posts table, in every database: `geohash`, a stored
 * generated column (filled for existing rows by this migration, which
 * rewrites the table once, and by PostgreSQL on every insert: no writer
 * changes), and one partial index per indexed precision on `(prefix, id
 * DESC)`, over live posts with a place only, so reading a cell newest
 * first is one index range that stops at the page.
 *
 * The id sorts after `posts_001_posts` (migrations of every capability run
 * in id order), as this extends that table.
 */
export const placesMigrations: Migration[] = [
  {
    id: 'posts_places_001_geohash',
    sql: `${GEOHASH_FUNCTION}
    ALTER TABLE posts ADD COLUMN geohash text
      GENERATED ALWAYS AS (geohash_encode(lat, lon, ${STORED_PRECISION})) STORED;
    ${INDEXED_PRECISIONS.map(
      (p) => `CREATE INDEX posts_near_${p} ON posts ((left(geohash, ${p})), id DESC)
      WHERE geohash IS NOT NULL AND deleted_at IS NULL;`,
    ).join('\n    ')}`,
  },
];
