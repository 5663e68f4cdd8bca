import { idempotencyReplaySuite } from '@shutter/actors/testing';
import { afterAll } from 'vitest';
import { SqlStateStore, stateStoreMigrations } from '../src/adapters/sql-state-store.js';
import { migrate, PgliteSql, PgSql } from '../src/sql/index.js';
import { postgresUrl, uniqueName } from './services.js';

// Issue 8 item 5 against real SQL: keys in their own table (actor_keys), written with the state.
const schemas: string[] = [];
afterAll(async () => {
  const admin = new PgSql(postgresUrl, 'public', 1);
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin.close();
});

idempotencyReplaySuite('SqlStateStore on Postgres', {
  async open() {
    const schema = uniqueName('ikeys');
    schemas.push(schema);
    const sql = new PgSql(postgresUrl, schema);
    await sql.ensureSchema();
    await migrate(sql, stateStoreMigrations);
    return { store: new SqlStateStore(sql), close: () => sql.close() };
  },
});

idempotencyReplaySuite('SqlStateStore on PGlite', {
  async open() {
    const sql = await PgliteSql.open(undefined, 'shutter');
    await migrate(sql, stateStoreMigrations);
    return { store: new SqlStateStore(sql), close: () => sql.close() };
  },
});
