import type { Sql, SqlQueryable } from '../sql/sql.js';
import type { Databases } from './databases.js';

/** What a query across every database gathered within its time budget. */
export interface Gathered<T> {
  /** The rows of every database that answered in time, in the order of `Databases.all`. */
  rows: T[];
  /** True when at least one database did not answer in time or failed: `rows` lack its share. */
  partial: boolean;
  /** How many databases did not answer (late or failed). */
  missing: number;
}

export interface ScatterOptions {
  /** How long to wait for every database, in ms. A database later than this is left out. */
  budgetMs: number;
  /** Called once per database that failed or ran late (for a log line and a metric). */
  onMissing?: (sql: Sql, reason: 'late' | 'failed', err?: unknown) => void;
}

/**
 * Asks every database the same question at once and gathers what answers
 * within the budget (DESIGN "Storage": queries that span users ask the
 * shards and merge). A database that is late or fails makes the answer
 * `partial`, never an error: a search that shows most results now is worth
 * more than one that shows none.
 *
 * On PostgreSQL the query runs in a transaction whose `statement_timeout`
 * is the budget (plus a little), so a late statement is cancelled by the
 * server soon after it stops mattering instead of holding a pooled
 * connection. PGlite answers in-process and needs no timeout.
 */
export async function scatter<T>(
  dbs: Databases,
  options: ScatterOptions,
  query: (sql: SqlQueryable, db: Sql) => Promise<T[]>,
): Promise<Gathered<T>> {
  const { budgetMs } = options;
  const timeoutMs = Math.ceil(budgetMs) + 50;
  const parts = await Promise.all(
    dbs.all.map(async (db): Promise<T[] | undefined> => {
      const work =
        db.kind === 'postgres'
          ? db.transaction(async (tx) => {
              await tx.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
              return query(tx, db);
            })
          : query(db, db);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), budgetMs);
      });
      try {
        const r = await Promise.race([work, late]);
        if (r === 'late') {
          // The statement timeout ends it on the server; its result or error is nobody's now.
          work.catch(() => {});
          options.onMissing?.(db, 'late');
          return undefined;
        }
        return r;
      } catch (err) {
        options.onMissing?.(db, 'failed', err);
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const missing = parts.filter((p) => p === undefined).length;
  return { rows: parts.flatMap((p) => p ?? []), partial: missing > 0, missing };
}
