import type { Post } from '@shutter/protocol';
import type { Sql, SqlQueryable } from '../../sql/sql.js';
import { scatter } from '../../storage/scatter.js';
import type { OperationContext } from '../operation.js';
import { hydrateRows } from '../posts/hydrate.js';
import type { PostRow } from '../posts/post-rows.js';

/** One entry a database found, with the key the list is sorted by. */
export interface Keyed<T, K> {
  value: T;
  key: K;
}

/** How one list is read from every database and merged. */
export interface ListSpec<T, K> {
  limit: number;
  /**
   * One database's first `limit + 1` entries after the cursor, in list
   * order (any order will do: they are merged by `order`). The same
   * question goes to every database at once; `db` says which one it is.
   */
  query: (sql: SqlQueryable, db: Sql) => Promise<Keyed<T, K>[]>;
  /** The list's order (negative: `a` comes first). */
  order: (a: K, b: K) => number;
  cursor: (key: K) => string;
}

export interface GatheredPage<T> {
  page: T[];
  nextCursor: string | null;
  partial: boolean;
}

/**
 * One page of a list that spans every database (DESIGN "Storage": ask the
 * shards, merge): each database answers its first `limit + 1` after the
 * cursor within SEARCH_BUDGET_MS (`scatter`), the answers are merged by the
 * list's order and the first `limit` kept. Every database holds all of its
 * share after the cursor, so the merged page is exactly the list's next
 * `limit`, and `nextCursor` (the last entry's key) is set when any database
 * had more. A database that is late or failing leaves its share out and
 * the page says `partial`; it is never an error (a page of most results now
 * beats none), and the next page goes on after what was shown.
 */
export async function gatherPage<T, K>(
  ctx: OperationContext,
  spec: ListSpec<T, K>,
): Promise<GatheredPage<T>> {
  const gathered = await scatter(
    ctx.db,
    {
      budgetMs: ctx.config.search.budgetMs,
      onMissing: (db, reason, err) =>
        ctx.log.warn(
          { db: db.schema, reason, err, budgetMs: ctx.config.search.budgetMs },
          'search: a database did not answer in time; the answer is partial',
        ),
    },
    (sql, db) => spec.query(sql, db),
  );
  const merged = gathered.rows.sort((a, b) => spec.order(a.key, b.key));
  const page = merged.slice(0, spec.limit);
  const last = page.at(-1);
  return {
    page: page.map((e) => e.value),
    nextCursor: merged.length > spec.limit && last ? spec.cursor(last.key) : null,
    partial: gathered.partial,
  };
}

/**
 * A page of posts found across the databases, hydrated as feed pages are
 * (`hydrateRows`: a fixed number of queries whatever the page size). The
 * queries check visibility on the author's side already; hydration checks
 * it again on the viewer's, so a page may be short while an edge is half
 * written, and `nextCursor` still goes on from the last row found.
 */
export async function gatherPosts<K>(
  ctx: OperationContext,
  spec: ListSpec<PostRow, K>,
): Promise<{ items: Post[]; nextCursor: string | null; partial: boolean }> {
  const { page, nextCursor, partial } = await gatherPage(ctx, spec);
  const items = await hydrateRows(ctx, ctx.caller.userId, page);
  return { items, nextCursor, partial };
}
