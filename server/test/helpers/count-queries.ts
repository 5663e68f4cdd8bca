import { AsyncLocalStorage } from 'node:async_hooks';
import type { ShutterNode } from '../../src/node.js';
import type { Sql } from '../../src/sql/sql.js';

const counting = new AsyncLocalStorage<number[]>();

/**
 * Counts the queries each database of `node` answers on behalf of `fn`:
 * every `Sql.query` made in `fn`'s async context (the node's background
 * work meanwhile — feed fan-out jobs, queue polls — runs in other contexts
 * and is not counted). Call it in-process (a handler or a read function),
 * not over HTTP, whose handlers run in the server's contexts.
 */
export async function countQueries<T>(
  node: ShutterNode,
  fn: () => Promise<T>,
): Promise<{ result: T; total: number; perDb: number[] }> {
  const counts = node.db.all.map(() => 0);
  const originals = node.db.all.map((sql) => sql.query);
  node.db.all.forEach((sql: Sql, i) => {
    const orig = sql.query.bind(sql);
    sql.query = ((text: string, params?: readonly unknown[]) => {
      const mine = counting.getStore();
      if (mine) mine[i]! += 1;
      return orig(text, params);
    }) as Sql['query'];
  });
  try {
    const result = await counting.run(counts, fn);
    return { result, total: counts.reduce((a, b) => a + b, 0), perDb: counts };
  } finally {
    node.db.all.forEach((sql, i) => {
      sql.query = originals[i] as Sql['query'];
    });
  }
}
