import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Sql, SqlQueryable, SqlResult } from './sql.js';

/**
 * `Sql` over PGlite, the embedded default. One connection: statements run
 * one at a time and an open transaction holds everyone else back, so keep
 * transactions short and batch writes (see docs/architecture.md).
 * `dataDir` undefined keeps the database in memory (tests).
 */
export class PgliteSql implements Sql {
  readonly kind = 'pglite' as const;

  private constructor(
    private readonly db: PGlite,
    readonly schema: string,
  ) {}

  static async open(dataDir: string | undefined, schema: string): Promise<PgliteSql> {
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    const db = dataDir ? new PGlite(dataDir) : new PGlite();
    await db.waitReady;
    await db.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema};`);
    return new PgliteSql(db, schema);
  }

  async query<R extends Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
  ): Promise<SqlResult<R>> {
    const r = await this.db.query<R>(text, params as unknown[] | undefined);
    return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
  }

  async exec(script: string): Promise<void> {
    await this.db.exec(script);
  }

  async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (t) => {
      const tx: SqlQueryable = {
        exec: async (script: string) => {
          await t.exec(script);
        },
        query: async <R extends Record<string, unknown>>(text: string, params?: readonly unknown[]) => {
          const r = await t.query<R>(text, params as unknown[] | undefined);
          return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
        },
      };
      return fn(tx);
    });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
