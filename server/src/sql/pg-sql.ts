import pg from 'pg';
import type { Sql, SqlQueryable, SqlResult } from './sql.js';

/** SQLSTATEs of a schema created concurrently by another session. */
const UNIQUE_VIOLATION = '23505';
const DUPLICATE_SCHEMA = '42P06';

/**
 * How long Postgres lets a session sit idle inside a transaction before it
 * ends the session. Our transactions are a few statements sent back to back;
 * one left open is a process that stopped (SIGSTOP, a GC or VM pause) in the
 * middle, and its row locks — the shard's fence row among them — would stall
 * the shard's new owner until it woke up (10.6 s in the paused-owner fault
 * test, where the owner was paused 10.5 s). Ending it rolls the write back:
 * it was never acknowledged.
 */
export const IDLE_IN_TRANSACTION_MS = 5000;

/** `Sql` over a `pg` connection pool; every connection's search_path is the schema. */
export class PgSql implements Sql {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(
    url: string,
    readonly schema: string,
    max = 10,
    options: { idleInTransactionMs?: number } = {},
  ) {
    this.pool = new pg.Pool({
      connectionString: url,
      max,
      options: `-c search_path=${schema}`,
      idle_in_transaction_session_timeout: options.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS,
    });
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
    // A checked-out client reports a lost connection (Postgres ended the
    // session: IDLE_IN_TRANSACTION_MS, a restart) as an 'error' event, which
    // would crash the process unheard; the pending query fails on its own,
    // and the client is discarded rather than returned to the pool.
    let lost: Error | undefined;
    const onError = (e: Error) => {
      lost = e;
    };
    client.on('error', onError);
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
      client.off('error', onError);
      client.release(lost);
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
