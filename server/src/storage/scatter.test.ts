import { LOGICAL_SHARDS } from '@shutter/protocol';
import { describe, expect, it } from 'vitest';
import type { Sql, SqlQueryable } from '../sql/sql.js';
import { Databases } from './databases.js';
import { scatter } from './scatter.js';

/** A database stand-in whose one query answers `rows` after `delayMs`, or fails. */
function fakeDb(name: string, delayMs: number, rows: string[] | Error): Sql {
  const query = async () => {
    await new Promise((r) => setTimeout(r, delayMs));
    if (rows instanceof Error) throw rows;
    return { rows: rows.map((v) => ({ v })), rowCount: rows.length };
  };
  return {
    kind: 'pglite',
    schema: name,
    exec: async () => {},
    query,
    transaction: async (fn: (tx: SqlQueryable) => Promise<unknown>) =>
      fn({ exec: async () => {}, query } as SqlQueryable),
    close: async () => {},
  } as unknown as Sql;
}

function twoDatabases(a: Sql, b: Sql): Databases {
  const half = LOGICAL_SHARDS / 2;
  return new Databases(Array.from({ length: LOGICAL_SHARDS }, (_, s) => (s < half ? a : b)));
}

const values = async (sql: { query: Sql['query'] }) =>
  (await sql.query<{ v: string }>('SELECT')).rows.map((r) => r.v);

describe('scatter', () => {
  it('gathers every database that answers in time, in the order of the databases', async () => {
    const dbs = twoDatabases(fakeDb('a', 5, ['a1', 'a2']), fakeDb('b', 1, ['b1']));
    expect(await scatter(dbs, { budgetMs: 500 }, values)).toEqual({
      rows: ['a1', 'a2', 'b1'],
      partial: false,
      missing: 0,
    });
  });

  it('leaves out a late database after the budget and marks the answer partial', async () => {
    const missing: string[] = [];
    const dbs = twoDatabases(fakeDb('a', 1, ['a1']), fakeDb('b', 2_000, ['b1']));
    const started = Date.now();
    const r = await scatter(
      dbs,
      { budgetMs: 100, onMissing: (db, why) => missing.push(`${db.schema}:${why}`) },
      values,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(r).toEqual({ rows: ['a1'], partial: true, missing: 1 });
    expect(missing).toEqual(['b:late']);
  });

  it('treats a failing database as missing, not as an error', async () => {
    const missing: string[] = [];
    const dbs = twoDatabases(fakeDb('a', 1, new Error('connection refused')), fakeDb('b', 1, ['b1']));
    const r = await scatter(
      dbs,
      { budgetMs: 500, onMissing: (db, why) => missing.push(`${db.schema}:${why}`) },
      values,
    );
    expect(r).toEqual({ rows: ['b1'], partial: true, missing: 1 });
    expect(missing).toEqual(['a:failed']);
  });
});
