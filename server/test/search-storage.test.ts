import { newId } from '@shutter/protocol';
import geohash from 'ngeohash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capabilities } from '../src/capabilities/index.js';
import { placesMigrations } from '../src/capabilities/places/places-table.js';
import { searchMigrations } from '../src/capabilities/search/search-tables.js';
import { migrate, PgliteSql, PgSql, type Sql } from '../src/sql/index.js';
import { expectRowsContract } from './fixtures/search-rows.js';
import { FIJI, PARIS } from './fixtures/search-world.js';
import { postgresUrl, uniqueName } from './services.js';

/**
 * What search and places add to the tables: the migrations fill what they
 * add for rows that exist already (a database upgraded in place), the SQL
 * geohash is ngeohash's to the bit, and each database's part of every
 * list answers the same on PostgreSQL and on the embedded default (PGlite).
 */

/** Random points, and points on cell edges of every precision (where rounding would show). */
function points(): { lat: number; lon: number; chars: number }[] {
  const out: { lat: number; lon: number; chars: number }[] = [];
  let seed = 5;
  const rand = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (let i = 0; i < 2000; i++)
    out.push({ lat: rand() * 180 - 90, lon: rand() * 360 - 180, chars: 1 + Math.floor(rand() * 12) });
  for (let chars = 1; chars <= 12; chars++) {
    const lonBits = Math.ceil((chars * 5) / 2);
    const latBits = Math.floor((chars * 5) / 2);
    for (let i = 0; i < 20; i++) {
      const k = Math.floor(rand() * 2 ** Math.min(lonBits, 30));
      const j = Math.floor(rand() * 2 ** Math.min(latBits, 30));
      const lon = -180 + (k * 360) / 2 ** Math.min(lonBits, 30);
      const lat = -90 + (j * 180) / 2 ** Math.min(latBits, 30);
      out.push({ lat, lon, chars }, { lat: lat + 1e-12, lon: lon - 1e-12, chars });
    }
    for (const [lat, lon] of [
      [90, 180],
      [-90, -180],
      [0, 0],
      [-0.0000001, 1e-300],
      [45, -90],
    ] as const)
      out.push({ lat, lon, chars });
  }
  return out;
}

async function expectGeohashLikeNgeohash(sql: Sql): Promise<void> {
  const ps = points();
  const r = await sql.query<{ h: string }>(
    'SELECT geohash_encode(lat, lon, chars) AS h FROM unnest($1::float8[], $2::float8[], $3::int[]) WITH ORDINALITY AS t(lat, lon, chars, n) ORDER BY n',
    [ps.map((p) => p.lat), ps.map((p) => p.lon), ps.map((p) => p.chars)],
  );
  expect(r.rows.map((x) => x.h)).toEqual(ps.map((p) => geohash.encode(p.lat, p.lon, p.chars)));
}

describe('on PostgreSQL, a database upgraded in place', () => {
  let sql: PgSql;
  beforeAll(async () => {
    sql = new PgSql(postgresUrl, uniqueName('search').toLowerCase(), 2);
    await sql.ensureSchema();
  });
  afterAll(async () => {
    await sql?.query(`DROP SCHEMA IF EXISTS ${sql.schema} CASCADE`);
    await sql?.close();
  });

  it('fills the geohash and the tag rows of existing posts, and keeps them on later writes', async () => {
    const mine = new Set([...searchMigrations, ...placesMigrations].map((m) => m.id));
    await migrate(
      sql,
      capabilities.flatMap((c) => c.migrations ?? []).filter((m) => !mine.has(m.id)),
    );
    const author = newId(3);
    await sql.query("INSERT INTO users (id, username) VALUES ($1, 'old_author')", [author]);
    const old = [
      { id: newId(3), tags: ['sunset', 'paris'], lat: PARIS.lat, lon: PARIS.lon, likes: 4, deleted: false },
      { id: newId(3), tags: ['sunset'], lat: FIJI.lat, lon: -179.999, likes: 1, deleted: false },
      { id: newId(3), tags: ['gone'], lat: 1, lon: 1, likes: 0, deleted: true },
      { id: newId(3), tags: [], lat: null, lon: null, likes: 0, deleted: false },
      { id: newId(3), tags: ['x'.repeat(500), 'ok'], lat: null, lon: null, likes: 2, deleted: false },
    ];
    for (const p of old)
      await sql.query(
        `INSERT INTO posts (id, author_id, media_ids, hashtags, lat, lon, like_count, deleted_at)
         VALUES ($1, $2, ARRAY['m'], $3, $4, $5, $6, CASE WHEN $7 THEN now() END)`,
        [p.id, author, p.tags, p.lat, p.lon, p.likes, p.deleted],
      );
    await migrate(sql, [...searchMigrations, ...placesMigrations]);

    const tagRows = async () =>
      (
        await sql.query<{ tag: string; post_id: string; like_count: number }>(
          'SELECT tag, post_id::text AS post_id, like_count FROM post_tags ORDER BY tag, post_id',
        )
      ).rows;
    const expected = old
      .filter((p) => !p.deleted)
      .flatMap((p) =>
        p.tags.filter((t) => t.length <= 400).map((t) => ({ tag: t, post_id: p.id, like_count: p.likes })),
      )
      .sort((a, b) => a.tag.localeCompare(b.tag) || (a.post_id < b.post_id ? -1 : 1));
    expect(await tagRows()).toEqual(expected);
    const hashes = await sql.query<{ id: string; geohash: string | null }>(
      'SELECT id::text AS id, geohash FROM posts',
    );
    for (const p of old)
      expect(hashes.rows.find((r) => r.id === p.id)?.geohash).toBe(
        p.lat === null || p.lon === null ? null : geohash.encode(p.lat, p.lon, 9),
      );

    // Later writes keep the tag rows: a like count moves, a post is deleted, a new one arrives.
    const [first, second] = old as [(typeof old)[0], (typeof old)[0]];
    await sql.query('UPDATE posts SET like_count = 9 WHERE id = $1', [first.id]);
    await sql.query('UPDATE posts SET deleted_at = now() WHERE id = $1', [second.id]);
    const fresh = newId(3);
    await sql.query(
      "INSERT INTO posts (id, author_id, media_ids, hashtags) VALUES ($1, $2, ARRAY['m'], ARRAY['new', 'sunset'])",
      [fresh, author],
    );
    expect((await tagRows()).filter((r) => r.tag === 'sunset')).toEqual(
      [
        { tag: 'sunset', post_id: first.id, like_count: 9 },
        { tag: 'sunset', post_id: fresh, like_count: 0 },
      ].sort((a, b) => (a.post_id < b.post_id ? -1 : 1)),
    );
    expect((await tagRows()).filter((r) => r.tag === 'paris')).toEqual([
      { tag: 'paris', post_id: first.id, like_count: 9 },
    ]);
  });

  it('encodes geohashes as ngeohash does, on random points and on cell edges', async () => {
    await expectGeohashLikeNgeohash(sql);
  });

  it('answers every list from one database (the rows each database gives a page)', async () => {
    await expectRowsContract(sql);
  });
});

describe('on the embedded default (PGlite)', () => {
  let sql: PgliteSql;
  beforeAll(async () => {
    sql = await PgliteSql.open(undefined, 'search');
    await migrate(
      sql,
      capabilities.flatMap((c) => c.migrations ?? []),
    );
  }, 60_000);
  afterAll(() => sql?.close());

  it('answers every list as PostgreSQL does, and the same geohash', async () => {
    await expectRowsContract(sql);
    await expectGeohashLikeNgeohash(sql);
  });
});
