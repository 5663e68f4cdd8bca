import type { Logger } from '../../log.js';
import type { Databases } from '../../storage/databases.js';
import { scatter } from '../../storage/scatter.js';
import type { Ranked } from './trending-store.js';

/** The fallback of every part of trending and explore: the most engaged posts and hashtags of the last day. */
export interface PopularList {
  /** Post ids, most engaged first (`score`: weighted likes and comments), then newest. */
  posts: Ranked[];
  /** Hashtags of those days' posts, by the summed engagement of their posts. */
  tags: Ranked[];
  /** A database did not answer in time: its posts are missing. */
  partial: boolean;
  /** When it was gathered (ms). */
  at: number;
}

export interface PopularOptions {
  /** Time budget of one gathering's question to every database (a later database is left out). */
  budgetMs: number;
  /** How long a reader waits for a gathering when the node has no list to serve yet. */
  waitMs: number;
  cacheMs: number;
  maxPosts: number;
  maxTags: number;
  likeWeight: number;
  commentWeight: number;
  now: () => number;
  log: Logger;
}

const DAY_MS = 86_400_000;
/** A partial list (a late database), or an empty one a reader found, is gathered again this soon. */
const SHORT_CACHE_MS = 1000;

/**
 * "Popular in the last day", per node: every database is asked at once
 * (`scatter`, within TRENDING_POPULAR_BUDGET_MS; a late one is left out and
 * the list marked partial) for its most engaged live posts of the last day
 * by public, live accounts, and the hashtags of those posts. The merged
 * list is gathered in the background (the capability's `start`: at once,
 * then every TRENDING_POPULAR_CACHE_MS; a partial list within a second,
 * an empty one within a second of a reader finding it so), so readers
 * never wait for the databases, except while a node has no list yet (or
 * an empty one): then a reader waits for the gathering at most
 * TRENDING_BUDGET_MS and is served an empty list after. A gathering to
 * which no database answered keeps the last list (marked partial) rather
 * than emptying it. Cost: two queries
 * per database per gathering, each a range scan of the last day's posts
 * by id (ids carry their time), so it grows with the posts made in a day
 * per database, never with readers.
 */
export class PopularPosts {
  private current: PopularList | undefined;
  private refreshing: Promise<PopularList> | undefined;

  constructor(
    private readonly db: Databases,
    private readonly o: PopularOptions,
  ) {}

  async get(): Promise<PopularList> {
    const c = this.current;
    if (!c || this.o.now() - c.at >= this.ttl(c)) void this.refresh();
    if (c && c.posts.length > 0) return c;
    // Nothing to serve yet (a node that just started, or no post in a day): wait a little for one.
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      this.refreshing ?? this.refresh(),
      new Promise<undefined>((r) => {
        timer = setTimeout(() => r(undefined), this.o.waitMs);
      }),
    ]);
    clearTimeout(timer);
    return waited ?? c ?? { posts: [], tags: [], partial: true, at: this.o.now() };
  }

  /**
   * The background timer's tick: gathers the list when it is missing or due
   * (a partial one within a second). An empty one waits its full time here
   * (an idle node with no post in a day asks nothing every second); a
   * reader that finds it empty asks again within a second.
   */
  keepFresh(): void {
    const c = this.current;
    if (!c || this.o.now() - c.at >= this.ttl(c, false)) void this.refresh();
  }

  /** How long a list is served before it is gathered again: a second for a partial one (or an empty one, for readers). */
  private ttl(c: PopularList, emptyIsShort = true): number {
    const short = c.partial || (emptyIsShort && c.posts.length === 0);
    return short ? Math.min(this.o.cacheMs, SHORT_CACHE_MS) : this.o.cacheMs;
  }

  /** Gathers the list anew now (one gathering at a time: a call during one shares it). */
  refresh(): Promise<PopularList> {
    this.refreshing ??= this.gather()
      .then((list) => {
        const c = this.current;
        // No database answered: the last list is served meanwhile (partial, so asked again within a second).
        this.current =
          list.partial && list.posts.length === 0 && c && c.posts.length > 0 ? { ...c, partial: true } : list;
        return this.current;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  private async gather(): Promise<PopularList> {
    const at = this.o.now();
    const since = at - DAY_MS;
    const params = [minIdAt(since), new Date(since), this.o.likeWeight, this.o.commentWeight];
    const live = 'JOIN users u ON u.id = p.author_id AND u.deleted_at IS NULL AND NOT u.private';
    const where = 'WHERE p.id >= $1::uuid AND p.created_at > $2 AND p.deleted_at IS NULL';
    const engagement = '($3::int * p.like_count + $4::int * p.comment_count)::float8';
    const g = await scatter<{ kind: 'post' | 'tag'; member: string; score: number }>(
      this.db,
      {
        budgetMs: this.o.budgetMs,
        onMissing: (_db, reason, err) =>
          this.o.log.warn({ err, reason }, 'a database left out of the popular posts (the fallback)'),
      },
      async (sql) => {
        const posts = await sql.query<{ member: string; score: number }>(
          `SELECT p.id::text AS member, ${engagement} AS score FROM posts p ${live} ${where}
            ORDER BY score DESC, p.id DESC LIMIT $5`,
          [...params, this.o.maxPosts],
        );
        const tags = await sql.query<{ member: string; score: number }>(
          `SELECT t AS member, sum(${engagement})::float8 AS score
             FROM posts p ${live} CROSS JOIN LATERAL unnest(p.hashtags) AS t ${where}
            GROUP BY t ORDER BY score DESC, t DESC LIMIT $5`,
          [...params, this.o.maxTags * 5],
        );
        return [
          ...posts.rows.map((r) => ({ kind: 'post' as const, member: r.member, score: Number(r.score) })),
          ...tags.rows.map((r) => ({ kind: 'tag' as const, member: r.member, score: Number(r.score) })),
        ];
      },
    );
    const tagSums = new Map<string, number>();
    for (const r of g.rows)
      if (r.kind === 'tag') tagSums.set(r.member, (tagSums.get(r.member) ?? 0) + r.score);
    const byRank = (a: Ranked, b: Ranked) => b.score - a.score || (a.member < b.member ? 1 : -1);
    return {
      posts: g.rows
        .filter((r) => r.kind === 'post')
        .map(({ member, score }) => ({ member, score }))
        .sort(byRank)
        .slice(0, this.o.maxPosts),
      tags: [...tagSums]
        .map(([member, score]) => ({ member, score }))
        .sort(byRank)
        .slice(0, this.o.maxTags),
      partial: g.partial,
      at,
    };
  }
}

/** The smallest id made at `ms`: every id made at or after it sorts at or above it. */
export function minIdAt(ms: number): string {
  const h = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-7000-8000-000000000000`;
}
