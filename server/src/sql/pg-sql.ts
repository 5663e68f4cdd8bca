import pg from 'pg';
import type { Sql, SqlQueryable, SqlResult } from './sql.js';

/** SQLSTATEs of a schema created concurrently by another session. */
const UNIQUE_VIOLATION = '23505';
const DUPLICATE_SCHEMA = '42P06';

/** `Sql` over a `pg` connection pool; every connection's search_path is the schema. */
export class PgSql implements Sql {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(
    url: string,
    readonly schema: string,
    max = 10,
  ) {
    this.pool = new pg.Pool({ connectionString: url, max, options: `-c search_path=${schema}` });
    // An idle client that loses its connection emits 'error' on the pool; the
    // pool replaces it, so log-worthy but not fatal.
    this.pool.on('error', () => {});
  }

  async query<R extends Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<R>> {
    const r = await this.pool.query(text, params as unknown[] | undefined);
    return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
  }

  async exec(script: string): Promise<void> {
    // Without parameters pg uses the simple query protocol, which takes several statements.
    await this.pool.query(script);
  }

  async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const tx: SqlQueryable = {
        exec: async (script: string) => {
          await client.query(script);
        },
        query: async <R extends Record<string, unknown>>(text: string, params?: readonly unknown[]) => {
          const r = await client.query(text, params as unknown[] | undefined);
          return { rows: r.rows as R[], rowCount: r.rowCount ?? 0 };
        },
      };
      const out = await fn(tx);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  /** Creates the schema if needed (call once before migrations). */
  /**
   * Creates the namespace's schema unless it exists. `IF NOT EXISTS` is not
   * atomic: of two nodes starting at once on a fresh namespace the loser gets
   * a unique violation on `pg_namespace` (seen in a full test run), although
   * the schema then exists, which is all this asks.
   */
  async ensureSchema(): Promise<void> {
    try {
      await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== UNIQUE_VIOLATION && code !== DUPLICATE_SCHEMA) throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
