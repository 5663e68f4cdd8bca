import { LOGICAL_SHARDS } from '@shutter/protocol';
import type { Sql } from '@shutter/server/sql';

/**
 * Bulk-loads what search and places read, straight into the tables of a
 * node on two databases (logical shards 0–511 in the first, 512–1023 in
 * the second), with `generate_series` inside PostgreSQL: each row is made
 * by the server from its number (hash-derived pseudo-random values, so a
 * seed is the same every time), both databases at once, a chunk per
 * statement. A million posts take about a minute here, most of it in the
 * indexes (GIN caption words, geohash prefixes, tag rows).
 *
 * Shape: `users` users (10 % private), names from a few syllables and
 * first/last names (so name prefixes match thousands, hundreds or a few);
 * `posts` posts by random authors of their database over the last year
 * (made in time order, as posts arrive),
 * captions of 3–6 words from a 1 000-word vocabulary with a Zipf-like skew
 * and 0–3 hashtags from 500 (the same skew), like counts skewed, places
 * for 70 %: 60 % around 50 cities (the first ones busier), 10 % anywhere;
 * one ready media item every post shows; `viewers` users of the first
 * database who follow `followsPerViewer` others each (both sides).
 */
export interface SearchSeedOptions {
  users: number;
  posts: number;
  viewers: number;
  followsPerViewer: number;
  /** Rows per INSERT statement. */
  chunk?: number;
  progress?: (line: string) => void;
}

export const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ra',
  'so',
  'ti',
  'vu',
  'al',
  'be',
  'cy',
  'do',
  'el',
  'fi',
  'gu',
  'ha',
];
export const FIRST_NAMES = [
  'Maria',
  'Marco',
  'Anna',
  'Ahmed',
  'Li',
  'Sofia',
  'Lucas',
  'Emma',
  'Noah',
  'Olga',
  'Yuki',
  'Ravi',
  'Chen',
  'Elena',
  'Omar',
  'Ines',
  'Jonas',
  'Lea',
  'Mateo',
  'Zoe',
  'Hugo',
  'Nina',
  'Igor',
  'Sara',
  'Pedro',
  'Amir',
  'Chloé',
  'Kofi',
  'Mila',
  'Theo',
];
export const LAST_NAMES = [
  'Garcia',
  'Smith',
  'Müller',
  'Rossi',
  'Kim',
  'Nguyen',
  'Silva',
  'Dubois',
  'Ivanov',
  'Tanaka',
  'Khan',
  'Jensen',
  'Novak',
  'Costa',
  'Weber',
  'Lopez',
  'Martin',
  'Singh',
  'Haddad',
  'Berg',
  'Moreau',
  'Kowalski',
  'Santos',
  'Okafor',
  'Larsen',
  'Petrov',
  'Yilmaz',
  'Fischer',
  'Cohen',
  'Ali',
];
/** City centres (lat, lon): the first ones get the most posts. */
export const CITIES: [number, number][] = [
  [40.7128, -74.006],
  [51.5074, -0.1278],
  [48.8566, 2.3522],
  [35.6762, 139.6503],
  [-23.5505, -46.6333],
  [19.4326, -99.1332],
  [28.6139, 77.209],
  [31.2304, 121.4737],
  [55.7558, 37.6173],
  [-33.8688, 151.2093],
  [34.0522, -118.2437],
  [41.9028, 12.4964],
  [52.52, 13.405],
  [40.4168, -3.7038],
  [37.5665, 126.978],
  [1.3521, 103.8198],
  [-34.6037, -58.3816],
  [30.0444, 31.2357],
  [6.5244, 3.3792],
  [41.0082, 28.9784],
  [13.7563, 100.5018],
  [-1.2921, 36.8219],
  [59.3293, 18.0686],
  [45.4642, 9.19],
  [50.1109, 8.6821],
  [43.6532, -79.3832],
  [25.2048, 55.2708],
  [-37.8136, 144.9631],
  [39.9042, 116.4074],
  [22.3193, 114.1694],
  [64.1466, -21.9426],
  [-17.7134, 178.065],
  [-41.2865, 174.7762],
  [21.3069, -157.8583],
  [61.2181, -149.9003],
  [60.1699, 24.9384],
  [38.7223, -9.1393],
  [47.4979, 19.0402],
  [50.0755, 14.4378],
  [35.6892, 51.389],
  [24.7136, 46.6753],
  [-26.2041, 28.0473],
  [33.8938, 35.5018],
  [-12.0464, -77.0428],
  [4.711, -74.0721],
  [10.8231, 106.6297],
  [14.5995, 120.9842],
  [-6.2088, 106.8456],
  [3.139, 101.6869],
  [53.3498, -6.2603],
];

/** A pronounceable pseudo-word per index: the caption vocabulary and the hashtags. */
export function word(i: number, salt = 0): string {
  let n = i * 7 + salt;
  let w = '';
  for (let k = 0; k < 3 || n > 0; k++) {
    w += SYLLABLES[(n + k * 5) % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length);
  }
  return w;
}
export const VOCABULARY = Array.from({ length: 1000 }, (_, i) => word(i));
export const TAGS = Array.from({ length: 500 }, (_, i) => `t${word(i, 3)}`);

/** A value in [0, 1) from the row number `n` and a salt: PostgreSQL's own hash, so the same every run. */
const r = (salt: number) => `((hashint8(n * 64 + ${salt}) & 2147483647) / 2147483648.0)`;

/** A Shutter id (UUIDv7 carrying `shard`) made of ms, shard and a unique number, as text-free SQL. */
const idOf = (ms: string, shard: string, unique: string) =>
  `(lpad(to_hex(${ms}), 12, '0') || '7' || lpad(to_hex((${shard}) << 2), 3, '0') || '8' || lpad(to_hex(${unique}), 15, '0'))::uuid`;

/** The user number `i`'s logical shard in database `d` (0 or 1). */
const shardOf = (i: string, d: number) => `(${d * (LOGICAL_SHARDS / 2)} + (${i}) % ${LOGICAL_SHARDS / 2})`;

export interface SearchSeed {
  /** The viewers' ids (users of the first database who follow others). */
  viewers: string[];
  ms: number;
}

/** Seeds both databases; `home` is the first (media records live there). */
export async function seedSearch(dbs: [Sql, Sql], o: SearchSeedOptions): Promise<SearchSeed> {
  const started = Date.now();
  const chunk = o.chunk ?? 100_000;
  const log = o.progress ?? (() => {});
  const half = Math.floor(o.users / 2);
  const base = Date.now() - 400 * 86_400_000;
  const [home] = dbs;
  await home.query(
    `INSERT INTO media_items (id, owner_id, sha256, status, original_key, original_bytes, declared_type, format, width, height, variants, placeholder, ready_at)
     VALUES ('bench_media', '00000000-0000-7000-8000-000000000000', repeat('b', 64), 'ready', 'originals/bench', 100000, 'image/jpeg', 'jpeg', 1080, 1080,
       '[{"size": 640, "format": "webp", "key": "media/v/bench.webp", "bytes": 20000, "width": 640, "height": 640}]'::jsonb, NULL, now())
     ON CONFLICT DO NOTHING`,
  );

  await Promise.all(
    dbs.map(async (sql, d) => {
      const from = d * half;
      const to = d === 0 ? half - 1 : o.users - 1;
      await sql.query(
        `INSERT INTO users (id, username, display_name, private)
         SELECT ${idOf(`${base} + n`, shardOf('n', d), 'n')},
                ($1::text[])[1 + floor(${r(1)} * 16)::int] || ($1::text[])[1 + floor(${r(2)} * 16)::int]
                  || ($1::text[])[1 + floor(${r(3)} * 16)::int] || '_' || n,
                ($2::text[])[1 + floor(${r(4)} * 30)::int] || ' ' || ($3::text[])[1 + floor(${r(5)} * 30)::int],
                ${r(6)} < 0.1
           FROM generate_series($4::bigint, $5::bigint) AS n`,
        [SYLLABLES, FIRST_NAMES, LAST_NAMES, from, to],
      );
      log(`  users: database ${d + 1} done (${to - from + 1})`);
    }),
  );

  // Viewers follow others: both sides of each edge, each in its owner's database.
  const userId = (i: number) => {
    const d = i < half ? 0 : 1;
    const shard = d * (LOGICAL_SHARDS / 2) + (i % (LOGICAL_SHARDS / 2));
    const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');
    const s = `${hex(base + i, 12)}7${hex(shard << 2, 3)}8${hex(i, 15)}`;
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  };
  const viewers = Array.from(
    { length: Math.min(o.viewers, half) },
    (_, v) => v * Math.floor(half / o.viewers),
  );
  // Per database: [user ids, other ids] of the 'out' and the 'in' sides.
  const out: [string[], string[]][] = [
    [[], []],
    [[], []],
  ];
  const inn: [string[], string[]][] = [
    [[], []],
    [[], []],
  ];
  let seed = 17;
  for (const v of viewers) {
    const followed = new Set<number>();
    while (followed.size < Math.min(o.followsPerViewer, o.users - 1)) {
      seed = (seed * 16807) % 2147483647;
      const i = seed % o.users;
      if (i !== v) followed.add(i);
    }
    for (const i of followed) {
      const o1 = out[0] as [string[], string[]];
      o1[0].push(userId(v));
      o1[1].push(userId(i));
      const side = inn[i < half ? 0 : 1] as [string[], string[]];
      side[0].push(userId(i));
      side[1].push(userId(v));
    }
  }
  for (const [d, sql] of dbs.entries()) {
    for (const [dir, rows] of [
      ['out', out[d]],
      ['in', inn[d]],
    ] as const) {
      if (!rows || rows[0].length === 0) continue;
      await sql.query(
        `INSERT INTO follows (user_id, dir, other_id, state, edge_id)
         SELECT u, $1, x, 'active', gen_random_uuid() FROM unnest($2::uuid[], $3::uuid[]) AS t(u, x)
         ON CONFLICT DO NOTHING`,
        [dir, rows[0], rows[1]],
      );
    }
  }
  log(`  follows: ${viewers.length} viewers × ${o.followsPerViewer}`);

  const perDb = Math.floor(o.posts / 2);
  await Promise.all(
    dbs.map(async (sql, d) => {
      for (let lo = 0; lo < perDb; lo += chunk) {
        const hi = Math.min(perDb, lo + chunk) - 1;
        const t = Date.now();
        await sql.query(postsInsert(d, half, o.users, base), [
          VOCABULARY,
          TAGS,
          CITIES.map((c) => c[0]),
          CITIES.map((c) => c[1]),
          d * perDb + lo,
          d * perDb + hi,
          Date.now(),
          d * perDb,
          perDb,
        ]);
        log(`  posts: database ${d + 1}: ${hi + 1}/${perDb} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      }
    }),
  );
  // As autovacuum leaves a table in use: statistics, the visibility map, hint bits.
  for (const sql of dbs) await sql.query('VACUUM ANALYZE users, follows, posts, post_tags');
  return { viewers: viewers.map(userId), ms: Date.now() - started };
}

const YEAR_MS = 365 * 86_400_000;

/**
 * One statement making posts `$5`–`$6` of database `d` ($1 words, $2 tags,
 * $3/$4 city lat/lon, $7 now, $8 its first post number, $9 its post count).
 */
function postsInsert(d: number, half: number, users: number, base: number): string {
  const first = d * half;
  const count = d === 0 ? half : users - half;
  const author = `(${first} + floor(${r(10)} * ${count})::bigint)`;
  const w = (k: number) => `($1::text[])[1 + floor(power(${r(20 + k)}, 3) * 1000)::int]`;
  const tag = (k: number) => `($2::text[])[1 + floor(power(${r(30 + k)}, 3) * 500)::int]`;
  return `INSERT INTO posts (id, author_id, caption, media_ids, hashtags, lat, lon, like_count, created_at)
    SELECT id, author_id, caption || coalesce(' #' || array_to_string(tags, ' #'), ''), ARRAY['bench_media'],
           tags, lat, lon, like_count, to_timestamp(ms / 1000.0)
      FROM (
        SELECT n, ms,
               ${idOf('ms', shardOf(author, d), `n + ${users}`)} AS id,
               ${idOf(`${base} + ${author}`, shardOf(author, d), author)} AS author_id,
               ${w(0)} || ' ' || ${w(1)} || ' ' || ${w(2)}
                 || CASE WHEN ${r(40)} < 0.6 THEN ' ' || ${w(3)} ELSE '' END
                 || CASE WHEN ${r(41)} < 0.4 THEN ' ' || ${w(4)} ELSE '' END
                 || CASE WHEN ${r(42)} < 0.2 THEN ' ' || ${w(5)} ELSE '' END AS caption,
               (SELECT coalesce(array_agg(DISTINCT t), '{}') FROM unnest(ARRAY[
                  CASE WHEN ${r(50)} < 0.5 THEN ${tag(0)} END,
                  CASE WHEN ${r(51)} < 0.3 THEN ${tag(1)} END,
                  CASE WHEN ${r(52)} < 0.15 THEN ${tag(2)} END]) AS t WHERE t IS NOT NULL) AS tags,
               CASE WHEN place < 0.6 THEN ($3::float8[])[city] + (${r(61)} - 0.5) * 0.4
                    WHEN place < 0.7 THEN ${r(62)} * 170 - 85 END AS lat,
               CASE WHEN place < 0.6 THEN ((($4::float8[])[city] + (${r(63)} - 0.5) * 0.5 + 540)::numeric % 360 - 180)::float8
                    WHEN place < 0.7 THEN ${r(64)} * 360 - 180 END AS lon,
               floor(power(${r(70)}, 6) * 1000)::int AS like_count
          FROM generate_series($5::bigint, $6::bigint) AS n,
               -- Over the last year in the order of n, as posts arrive: the table's order is the ids' order.
               LATERAL (SELECT ($7::bigint - ${YEAR_MS} + floor((n - $8) * ${YEAR_MS}.0 / $9) + floor(${r(11)} * 1000))::bigint AS ms,
                               ${r(60)} AS place,
                               1 + floor(power(${r(65)}, 2) * ${CITIES.length})::int AS city) x
      ) p`;
}
