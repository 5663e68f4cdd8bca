import type { Migration, Sql } from './sql.js';

const LOCK_KEY = 727_001; // arbitrary, constant: serialises migrations across nodes

/**
 * Applies every migration not yet recorded, in id order, each in its own
 * transaction. On Postgres an advisory lock keeps two starting nodes from
 * racing; PGlite has one connection, so nothing can race.
 */
export async function migrate(sql: Sql, migrations: readonly Migration[]): Promise<string[]> {
  const ids = new Set<string>();
  for (const m of migrations) {
    if (ids.has(m.id)) throw new Error(`duplicate migration id ${m.id}`);
    ids.add(m.id);
  }
  const applied: string[] = [];
  const run = async () => {
    await sql.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await sql.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id),
    );
    for (const m of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
      if (done.has(m.id)) continue;
      await sql.transaction(async (tx) => {
        await tx.exec(m.sql);
        await tx.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
      });
      applied.push(m.id);
    }
  };
  if (sql.kind === 'postgres') {
    await runLocked(sql, run);
  } else {
    await run();
  }
  return applied;
}

/**
 * Runs `fn` while a dedicated pooled connection holds the migration lock in an
 * open transaction (a session lock could be released on another pooled
 * connection; a transaction lock cannot).
 */
async function runLocked(sql: Sql, fn: () => Promise<void>): Promise<void> {
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  let locked!: () => void;
  const gotLock = new Promise<void>((r) => {
    locked = r;
  });
  const holder = sql.transaction(async (tx) => {
    // This transaction sits idle while the migrations run on other connections:
    // exempt it from PgSql's idle-in-transaction limit (a no-op on PGlite).
    if (sql.kind === 'postgres') await tx.query('SET LOCAL idle_in_transaction_session_timeout = 0');
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    locked();
    await held;
  });
  await gotLock;
  try {
    await fn();
  } finally {
    release();
    await holder;
  }
}
