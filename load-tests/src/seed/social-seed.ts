import { LOGICAL_SHARDS, newId, shardOfId } from '@shutter/protocol';
import type { Databases, Sql } from '@shutter/server/sql';
import { seededRandom } from '@shutter/server/testing';

/**
 * Seeds a social graph straight into the tables of a Shutter deployment
 * (users, usernames, follows on both sides, posts, one ready media item per
 * user), each row in the database of its owner's logical shard, with exact
 * counts: what the feed benchmarks read from. Batched `INSERT … SELECT FROM
 * unnest(…)`, so a million rows take seconds on Postgres.
 *
 * Shape: `users` users; each follows `followsPerUser` others chosen with a
 * Zipf-like skew (a few users get many followers), plus `celebrities` users
 * followed by `celebrityFollowers` each (above a fan-out threshold);
 * `postsPerUser` posts each, spread over the last `days` days.
 */
export interface SeedOptions {
  users: number;
  followsPerUser: number;
  postsPerUser: number;
  celebrities: number;
  celebrityFollowers: number;
  days: number;
  /** Deterministic choice of edges (the `seededRandom` seed). */
  seed: number;
  /** Called after each batch: rows written so far of the table being filled. */
  progress?: (table: string, done: number, total: number) => void;
}

export interface SeededUser {
  id: string;
  username: string;
}

export interface SeedSummary {
  users: SeededUser[];
  /** Indexes (into `users`) of the celebrities. */
  celebrities: number[];
  edges: number;
  posts: number;
  ms: number;
}

const BATCH = 5000;

/** Rows of one table grouped by the database they belong in, inserted in batches. */
export class Batches {
  private readonly rows = new Map<Sql, unknown[][]>();
  done = 0;
  constructor(
    private readonly table: string,
    private readonly insert: string,
    private readonly total: number,
    private readonly progress: SeedOptions['progress'],
  ) {}

  async add(sql: Sql, row: unknown[]): Promise<void> {
    let list = this.rows.get(sql);
    if (!list) this.rows.set(sql, (list = []));
    list.push(row);
    if (list.length >= BATCH) await this.flushOne(sql);
  }

  private async flushOne(sql: Sql): Promise<void> {
    const list = this.rows.get(sql);
    if (!list || list.length === 0) return;
    this.rows.set(sql, []);
    const columns = (list[0] as unknown[]).map((_, i) => list.map((r) => r[i]));
    await sql.query(this.insert, columns);
    this.done += list.length;
    this.progress?.(this.table, this.done, this.total);
  }

  async flush(): Promise<void> {
    for (const sql of [...this.rows.keys()]) await this.flushOne(sql);
  }
}

export async function seedSocial(db: Databases, o: SeedOptions): Promise<SeedSummary> {
  const started = Date.now();
  const rand = seededRandom(o.seed);
  const now = Date.now();
  const users: SeededUser[] = [];
  for (let i = 0; i < o.users; i++) {
    const id = newId(Math.floor(rand() * LOGICAL_SHARDS), now - o.days * 86_400_000 - 1000 + i);
    users.push({ id, username: `seed_${i}` });
  }
  // Edges: Zipf-like target choice (index ~ users * r^3 favours low indexes), no self, no duplicates.
  const celebs = Array.from({ length: o.celebrities }, (_, i) => i);
  const follows = new Map<number, Set<number>>();
  const addEdge = (a: number, b: number) => {
    if (a === b) return false;
    let s = follows.get(a);
    if (!s) follows.set(a, (s = new Set()));
    if (s.has(b)) return false;
    s.add(b);
    return true;
  };
  let edges = 0;
  for (let a = 0; a < o.users; a++) {
    let made = 0;
    for (let tries = 0; made < o.followsPerUser && tries < o.followsPerUser * 4; tries++) {
      const b = o.celebrities + Math.floor((o.users - o.celebrities) * rand() ** 3);
      if (b < o.users && addEdge(a, b)) made++;
    }
    edges += made;
  }
  for (const c of celebs) {
    for (let k = 0, made = 0; made < o.celebrityFollowers && k < o.celebrityFollowers * 3; k++) {
      const a = Math.floor(rand() * o.users);
      if (addEdge(a, c)) {
        made++;
        edges++;
      }
    }
  }
  const followers = new Array<number>(o.users).fill(0);
  for (const s of follows.values()) for (const b of s) followers[b] = (followers[b] ?? 0) + 1;

  // Media: one ready item per user, in the home database (media records are not partitioned).
  const media = new Batches(
    'media_items',
    `INSERT INTO media_items (id, owner_id, sha256, status, original_key, original_bytes, declared_type, format, width, height, variants, placeholder, ready_at)
     SELECT id, owner, sha, 'ready', 'originals/' || sha, 100000, 'image/jpeg', 'jpeg', 1080, 1080,
       jsonb_build_array(jsonb_build_object('size', 640, 'format', 'webp', 'key', 'media/v/' || sha || '.webp', 'bytes', 20000, 'width', 640, 'height', 640)),
       NULL, now()
     FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, owner, sha) ON CONFLICT DO NOTHING`,
    o.users,
    o.progress,
  );
  const mediaOf = (i: number) => `seedmedia${i}`;
  for (let i = 0; i < o.users; i++) {
    await media.add(db.home, [mediaOf(i), users[i]!.id, i.toString(16).padStart(64, '0')]);
  }
  await media.flush();

  const userRows = new Batches(
    'users',
    `INSERT INTO users (id, username, display_name, follower_count, following_count, post_count, created_at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::timestamptz[]) ON CONFLICT DO NOTHING`,
    o.users,
    o.progress,
  );
  const nameRows = new Batches(
    'usernames',
    `INSERT INTO usernames (name, user_id) SELECT * FROM unnest($1::text[], $2::uuid[]) ON CONFLICT DO NOTHING`,
    o.users,
    o.progress,
  );
  for (let i = 0; i < o.users; i++) {
    const u = users[i]!;
    await userRows.add(db.forId(u.id), [
      u.id,
      u.username,
      `Seed ${i}`,
      followers[i],
      follows.get(i)?.size ?? 0,
      o.postsPerUser,
      new Date(now - o.days * 86_400_000),
    ]);
    await nameRows.add(db.forKey(u.username), [u.username, u.id]);
  }
  await userRows.flush();
  await nameRows.flush();

  const edgeRows = new Batches(
    'follows',
    `INSERT INTO follows (user_id, dir, other_id, state, edge_id)
     SELECT u, d, x, 'active', e FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[]) AS t(u, d, x, e) ON CONFLICT DO NOTHING`,
    edges * 2,
    o.progress,
  );
  for (const [a, set] of follows) {
    const ua = users[a]!.id;
    for (const b of set) {
      const ub = users[b]!.id;
      const edge = newId(shardOfId(ua) ?? 0, now - o.days * 86_400_000);
      await edgeRows.add(db.forId(ua), [ua, 'out', ub, edge]);
      await edgeRows.add(db.forId(ub), [ub, 'in', ua, edge]);
    }
  }
  await edgeRows.flush();

  const posts = o.users * o.postsPerUser;
  const postRows = new Batches(
    'posts',
    `INSERT INTO posts (id, author_id, caption, media_ids, created_at)
     SELECT id, a, c, ARRAY[m], t FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) AS x(id, a, c, m, t) ON CONFLICT DO NOTHING`,
    posts,
    o.progress,
  );
  const span = o.days * 86_400_000;
  for (let i = 0; i < o.users; i++) {
    const u = users[i]!;
    const shard = shardOfId(u.id) ?? 0;
    for (let k = 0; k < o.postsPerUser; k++) {
      const t = now - Math.floor(rand() * span);
      await postRows.add(db.forId(u.id), [
        newId(shard, t),
        u.id,
        `post ${k} of ${u.username}`,
        mediaOf(i),
        new Date(t),
      ]);
    }
  }
  await postRows.flush();
  return { users, celebrities: celebs, edges, posts, ms: Date.now() - started };
}
