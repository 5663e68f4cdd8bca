import { afterAll, describe, expect, it } from 'vitest';
import { migrate, PgliteSql, PgSql, type Sql } from '../src/sql/index.js';
import { postgresUrl, uniqueName } from './services.js';

const migrations = [
  { id: 't_001', sql: 'CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL)' },
  {
    id: 't_002',
    sql: 'ALTER TABLE things ADD COLUMN n int NOT NULL DEFAULT 0; CREATE INDEX things_n ON things (n);',
  },
];

async function sqlContract(open: () => Promise<Sql>, cleanup: (s: Sql) => Promise<void>) {
  const sql = await open();
  try {
    expect(await migrate(sql, migrations)).toEqual(['t_001', 't_002']);
    expect(await migrate(sql, migrations)).toEqual([]);
    await sql.query('INSERT INTO things (id, name) VALUES ($1, $2)', [1, 'a']);
    await expect(
      sql.transaction(async (tx) => {
        await tx.query('UPDATE things SET n = n + 1 WHERE id = 1');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await sql.query<{ n: number }>('SELECT n FROM things WHERE id = 1')).rows[0]?.n).toBe(0);
    await sql.transaction(async (tx) => {
      await tx.query('UPDATE things SET n = n + 5 WHERE id = 1');
    });
    const r = await sql.query<{ n: number }>('SELECT n FROM things WHERE id = 1');
    expect(r.rows[0]?.n).toBe(5);
    expect((await sql.query('UPDATE things SET n = 0')).rowCount).toBe(1);
  } finally {
    await cleanup(sql);
  }
}

describe('Sql adapters', () => {
  const schemas: string[] = [];
  afterAll(async () => {
    const admin = new PgSql(postgresUrl, 'public', 1);
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await admin.close();
  });

  it('PgSql: migrations, transactions, rollback', async () => {
    const schema = uniqueName('sql');
    schemas.push(schema);
    await sqlContract(
      async () => {
        const s = new PgSql(postgresUrl, schema);
        await s.ensureSchema();
        return s;
      },
      (s) => s.close(),
    );
  });

  it('PgSql: two nodes migrating at once apply each migration once', async () => {
    const schema = uniqueName('sql');
    schemas.push(schema);
    const a = new PgSql(postgresUrl, schema);
    const b = new PgSql(postgresUrl, schema);
    await a.ensureSchema();
    const [ra, rb] = await Promise.all([migrate(a, migrations), migrate(b, migrations)]);
    expect([...ra, ...rb].sort()).toEqual(['t_001', 't_002']);
    await Promise.all([a.close(), b.close()]);
  });

  it('PgSql: a transaction left idle (a paused process) is ended after idleInTransactionMs, its write rolled back and its locks freed; the process survives', async () => {
    const schema = uniqueName('sql');
    schemas.push(schema);
    const a = new PgSql(postgresUrl, schema, 2, { idleInTransactionMs: 300 });
    const b = new PgSql(postgresUrl, schema, 2);
    try {
      await a.ensureSchema();
      await migrate(a, migrations);
      await a.query('INSERT INTO things (id, name) VALUES (1, $1)', ['a']);
      const stuck = a.transaction(async (tx) => {
        await tx.query('UPDATE things SET n = 7 WHERE id = 1');
        await new Promise((r) => setTimeout(r, 1500)); // stopped mid-transaction, row 1 locked
        await tx.query('UPDATE things SET n = 8 WHERE id = 1');
      });
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      // Another session needs the row: it waits only until Postgres ends the idle one.
      await b.query('UPDATE things SET n = n + 1 WHERE id = 1');
      expect(Date.now() - started).toBeLessThan(1200);
      await expect(stuck).rejects.toThrow();
      expect((await b.query<{ n: number }>('SELECT n FROM things WHERE id = 1')).rows[0]?.n).toBe(1);
      // The pool replaced the ended connection.
      expect((await a.query<{ n: number }>('SELECT n FROM things WHERE id = 1')).rows[0]?.n).toBe(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('PgSql: migrations slower than idleInTransactionMs keep the migration lock', async () => {
    const schema = uniqueName('sql');
    schemas.push(schema);
    const a = new PgSql(postgresUrl, schema, 3, { idleInTransactionMs: 300 });
    const b = new PgSql(postgresUrl, schema, 3, { idleInTransactionMs: 300 });
    try {
      await a.ensureSchema();
      const slow = [{ id: 't_slow', sql: 'SELECT pg_sleep(1); CREATE TABLE slow (id int PRIMARY KEY);' }];
      const [ra, rb] = await Promise.all([migrate(a, slow), migrate(b, slow)]);
      expect([...ra, ...rb]).toEqual(['t_slow']);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('PgSql: nodes starting at once on a fresh namespace all get its schema (CREATE SCHEMA races)', async () => {
    for (let round = 0; round < 5; round++) {
      const schema = uniqueName('sql');
      schemas.push(schema);
      const nodes = Array.from({ length: 8 }, () => new PgSql(postgresUrl, schema, 1));
      try {
        await Promise.all(nodes.map((n) => n.ensureSchema()));
        const r = await nodes[0]!.query<{ n: string }>(
          'SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1',
          [schema],
        );
        expect(Number(r.rows[0]?.n)).toBe(1);
      } finally {
        await Promise.all(nodes.map((n) => n.close()));
      }
    }
  });

  it('PgliteSql (in memory): migrations, transactions, rollback', async () => {
    await sqlContract(
      () => PgliteSql.open(undefined, 'shutter'),
      (s) => s.close(),
    );
  });
});
