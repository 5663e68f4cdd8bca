import { ActorSystem, defineActor } from '@shutter/actors';
import { stateStoreContract } from '@shutter/actors/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqlStateStore, stateStoreMigrations } from '../src/adapters/sql-state-store.js';
import { migrate, PgliteSql, PgSql, type Sql, type SqlQueryable } from '../src/sql/index.js';
import { postgresUrl, uniqueName } from './services.js';

const schemas: string[] = [];
afterAll(async () => {
  const admin = new PgSql(postgresUrl, 'public', 1);
  for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await admin.close();
});

stateStoreContract('SqlStateStore on PGlite (in memory)', {
  async open() {
    const sql = await PgliteSql.open(undefined, 'shutter');
    await migrate(sql, stateStoreMigrations);
    return { store: new SqlStateStore(sql), close: () => sql.close() };
  },
});

stateStoreContract('SqlStateStore on Postgres', {
  async open() {
    const schema = uniqueName('state');
    schemas.push(schema);
    const sql = new PgSql(postgresUrl, schema);
    await sql.ensureSchema();
    await migrate(sql, stateStoreMigrations);
    return { store: new SqlStateStore(sql), close: () => sql.close() };
  },
});

/** A hot actor over real SQL: concurrent state changes share transactions and all land. */
describe('ActorSystem on SqlStateStore', () => {
  const Photo = defineActor({
    name: 'photo',
    initialState: () => ({ likes: 0 }),
    handlers: {
      like: (ctx) => {
        ctx.setState({ likes: ctx.state.likes + 1 });
        return ctx.state.likes;
      },
    },
  });

  const hot = async (sql: Sql) => {
    await migrate(sql, stateStoreMigrations);
    let transactions = 0;
    const counting: Sql = Object.assign(Object.create(sql) as Sql, {
      transaction: <T>(fn: (tx: SqlQueryable) => Promise<T>) => {
        transactions++;
        return sql.transaction(fn);
      },
    });
    const store = new SqlStateStore(counting);
    const sys = new ActorSystem({ store, defaultDeadlineMs: 30_000 }).register(Photo);
    const N = 2000;
    const replies = await Promise.all([...Array(N)].map(() => sys.ref(Photo, 'hot').ask({ type: 'like' })));
    await sys.stop();
    expect(new Set(replies).size).toBe(N);
    expect(transactions).toBeLessThan(N / 20);
    expect((await store.load('photo', 'hot'))?.state).toEqual({ state: { likes: N } });
  };

  it('PGlite: 2 000 concurrent likes on one actor, every one acknowledged after commit, in few transactions', async () => {
    const sql = await PgliteSql.open(undefined, 'shutter');
    try {
      await hot(sql);
    } finally {
      await sql.close();
    }
  });

  it('Postgres: the same', async () => {
    const schema = uniqueName('state');
    schemas.push(schema);
    const sql = new PgSql(postgresUrl, schema);
    await sql.ensureSchema();
    try {
      await hot(sql);
    } finally {
      await sql.close();
    }
  });
});
