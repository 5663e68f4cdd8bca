/**
 * The relational store port: PostgreSQL via `pg` in a cluster, PGlite
 * (embedded Postgres, same SQL) by default. Queries use `$1…` parameters.
 *
 * Contract:
 * - `query` runs one statement outside any transaction.
 * - `transaction` runs `fn` in one transaction, committed when `fn` resolves
 *   and rolled back when it throws. Inside `fn` use only `tx.query`: on PGlite
 *   (one connection) calling the outer `query` there would wait forever.
 * - Every table lives in the deployment's schema (the `NAMESPACE` setting),
 *   selected through search_path, so statements name tables unqualified.
 */
export interface SqlQueryable {
  /** Runs a script of one or more statements without parameters (migrations). */
  exec(script: string): Promise<void>;
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<R>>;
}

export interface SqlResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Sql extends SqlQueryable {
  readonly kind: 'postgres' | 'pglite';
  readonly schema: string;
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** One forward-only migration. `id` sorts in apply order (e.g. `actors_001_state`). */
export interface Migration {
  id: string;
  sql: string;
}
