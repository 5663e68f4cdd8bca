import type { Migration } from '../../sql/sql.js';
import type { Databases } from '../../storage/databases.js';

/**
 * Fan-out on read. A post whose author had at least FEED_FANOUT_THRESHOLD
 * followers when its fan-out job ran is not written into any feed: the job
 * records it in `feed_pulled` (in the author's database, beside the post),
 * and every feed read merges the pulled posts of the authors the reader
 * follows. Deciding per post, once, is what keeps feeds exact while an
 * author crosses the threshold either way: every post is either in the
 * feeds (fanned out) or in `feed_pulled` (or, after a retried job that
 * changed its mind, both: the read keeps one).
 */
export const pulledMigrations: Migration[] = [
  {
    id: 'feed_001_pulled',
    sql: `CREATE TABLE feed_pulled (
      author_id uuid NOT NULL,
      post_id uuid NOT NULL,
      PRIMARY KEY (author_id, post_id)
    )`,
  },
];

/** Newest pulled ids kept per author in a node's cache. */
const CACHED_PER_AUTHOR = 200;
/** Authors whose cache entries a node keeps at most (cleared past this: entries are cheap to refetch). */
const MAX_CACHED_AUTHORS = 100_000;

interface Entry {
  at: number;
  /** Newest first, at most CACHED_PER_AUTHOR. */
  ids: string[];
  /** `ids` are all of the author's pulled posts. */
  complete: boolean;
}

export class PulledPosts {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly db: Databases,
    private readonly cacheMs: number,
    private readonly now: () => number,
  ) {}

  async record(authorId: string, postId: string): Promise<void> {
    await this.db
      .forId(authorId)
      .query('INSERT INTO feed_pulled (author_id, post_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
        authorId,
        postId,
      ]);
    this.cache.delete(authorId);
  }

  async forget(authorId: string, postIds?: readonly string[]): Promise<void> {
    const sql = this.db.forId(authorId);
    if (postIds)
      await sql.query('DELETE FROM feed_pulled WHERE author_id = $1 AND post_id = ANY($2::uuid[])', [
        authorId,
        postIds,
      ]);
    else await sql.query('DELETE FROM feed_pulled WHERE author_id = $1', [authorId]);
    this.cache.delete(authorId);
  }

  /**
   * The newest `limit` pulled post ids of `authors`, strictly older than
   * `before` when given, newest first. Served from the cache (entries
   * younger than FEED_AUTHOR_CACHE_MS) where it reaches; the rest with one
   * query per database.
   */
  async page(authors: readonly string[], before: string | undefined, limit: number): Promise<string[]> {
    const fresh = await this.entries(authors);
    const out: string[] = [];
    const deeper: string[] = [];
    for (const [author, e] of fresh) {
      const older = before === undefined ? e.ids : e.ids.filter((id) => id < before);
      if (older.length >= limit || e.complete) out.push(...older.slice(0, limit));
      else deeper.push(author);
    }
    if (deeper.length > 0) out.push(...(await this.query(deeper, before, limit)).map((r) => r.id));
    return [...new Set(out)].sort().reverse().slice(0, limit);
  }

  /** Cache entries of `authors`, fetching the missing and stale ones (newest CACHED_PER_AUTHOR each). */
  private async entries(authors: readonly string[]): Promise<Map<string, Entry>> {
    const now = this.now();
    const out = new Map<string, Entry>();
    const stale: string[] = [];
    for (const a of new Set(authors)) {
      const e = this.cache.get(a);
      if (e && now - e.at < this.cacheMs) out.set(a, e);
      else stale.push(a);
    }
    if (stale.length === 0) return out;
    const rows = await this.query(stale, undefined, CACHED_PER_AUTHOR);
    if (this.cache.size + stale.length > MAX_CACHED_AUTHORS) this.cache.clear();
    const byAuthor = new Map<string, string[]>(stale.map((a) => [a, []]));
    for (const r of rows) byAuthor.get(r.author)?.push(r.id);
    for (const [a, ids] of byAuthor) {
      ids.sort().reverse();
      const e = { at: now, ids, complete: ids.length < CACHED_PER_AUTHOR };
      if (this.cacheMs > 0) this.cache.set(a, e);
      out.set(a, e);
    }
    return out;
  }

  /** Each author's newest `limit` pulled ids older than `before`: one query per database. */
  private query(
    authors: readonly string[],
    before: string | undefined,
    limit: number,
  ): Promise<{ author: string; id: string }[]> {
    return this.db.each(authors, async (sql, part) => {
      const r = await sql.query<{ author: string; id: string }>(
        `SELECT a::text AS author, p.post_id::text AS id
           FROM unnest($1::uuid[]) AS a
           CROSS JOIN LATERAL (
             SELECT post_id FROM feed_pulled
              WHERE author_id = a AND ($2::uuid IS NULL OR post_id < $2::uuid)
              ORDER BY post_id DESC LIMIT $3
           ) p`,
        [part, before ?? null, limit],
      );
      return r.rows;
    });
  }
}
