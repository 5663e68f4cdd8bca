import { Databases, PgSql } from '@shutter/server/sql';
import type { RunnerTarget } from '../runner/scenario.js';

/**
 * Runs `fn` on the database of a node the runner started (its DATABASE_URL
 * and NAMESPACE), for a scenario that seeds its data straight into the
 * tables; closed after. `scenario` names who asks, for the refusal with --url.
 */
export async function withTargetDatabases<T>(
  target: RunnerTarget,
  scenario: string,
  fn: (db: Databases) => Promise<T>,
): Promise<T> {
  const db = target.database;
  if (!db) throw new Error(`${scenario} seeds its data into the database: run it without --url`);
  const sql = new PgSql(db.url, db.namespace, 4);
  try {
    return await fn(Databases.single(sql));
  } finally {
    await sql.close();
  }
}
