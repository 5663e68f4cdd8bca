import {
  captionRows,
  coveringCells,
  MOST_LIKED,
  NEWEST,
  nameRows,
  nearRows,
  tagRecentRows,
  tagTopRows,
} from '@shutter/server/capabilities';
import type { Sql, SqlQueryable } from '@shutter/server/sql';
import { CITIES, TAGS, VOCABULARY } from './search-seed.js';

/**
 * EXPLAIN (ANALYZE, BUFFERS) of each database's part of every list on the
 * seeded data, so a run shows which index each one walks and that none
 * reads a table through: the statements are the ones the node sends (the
 * row functions of the search and places capabilities, their SQL caught on
 * the way), run on the first database, warm (the second run's plan).
 */
export async function explainLists(
  dbs: readonly Sql[],
  viewer: string,
): Promise<{ text: string; summary: string[] }> {
  const n = 21;
  const near = (lat: number, lon: number, radius: number) => {
    const { precision, cells } = coveringCells(lat, lon, radius);
    return (sql: SqlQueryable) =>
      nearRows(sql, { precision, cells, lat, lon, radius, viewer, after: NEWEST, n });
  };
  const [city] = CITIES as [[number, number]];
  const lists: [string, (sql: SqlQueryable) => Promise<unknown>][] = [
    [
      `caption, common word "${VOCABULARY[0]}"`,
      (s) => captionRows(s, VOCABULARY[0] as string, viewer, NEWEST, n),
    ],
    [
      `caption, rare word "${VOCABULARY[900]}"`,
      (s) => captionRows(s, VOCABULARY[900] as string, viewer, NEWEST, n),
    ],
    [
      `caption, two words "${VOCABULARY[0]} ${VOCABULARY[57]}"`,
      (s) => captionRows(s, `${VOCABULARY[0]} ${VOCABULARY[57]}`, viewer, NEWEST, n),
    ],
    [`tag recent, commonest #${TAGS[0]}`, (s) => tagRecentRows(s, TAGS[0] as string, viewer, NEWEST, n)],
    [`tag top, commonest #${TAGS[0]}`, (s) => tagTopRows(s, TAGS[0] as string, viewer, MOST_LIKED, n)],
    [`tag recent, rare #${TAGS[400]}`, (s) => tagRecentRows(s, TAGS[400] as string, viewer, NEWEST, n)],
    ['users "ka"', (s) => nameRows(s, { q: 'ka', viewer, followed: [], after: undefined, n })],
    ['users "kalo"', (s) => nameRows(s, { q: 'kalo', viewer, followed: [], after: undefined, n })],
    ['users "mar"', (s) => nameRows(s, { q: 'mar', viewer, followed: [], after: undefined, n })],
    ['places, busiest city, 5 km', near(city[0], city[1], 5000)],
    ['places, busiest city, 50 km', near(city[0], city[1], 50_000)],
    ['places, open sea, 50 km', near(0, -30, 50_000)],
  ];
  const db = dbs[0] as Sql;
  const out: string[] = [];
  const summary: string[] = [];
  for (const [name, run] of lists) {
    // Every statement the list sends, explained, then run for real (the next may depend on its answer).
    const plans: string[][] = [];
    const explaining: SqlQueryable = {
      exec: (script) => db.exec(script),
      query: async <R extends Record<string, unknown>>(text: string, params?: readonly unknown[]) => {
        const explain = `EXPLAIN (ANALYZE, BUFFERS) ${text}`;
        await db.query(explain, params);
        plans.push(
          (await db.query<{ 'QUERY PLAN': string }>(explain, params)).rows.map((r) => r['QUERY PLAN']),
        );
        return db.query<R>(text, params);
      },
    };
    await run(explaining);
    const times: string[] = [];
    const indexes = new Set<string>();
    let seq = 0;
    for (const [k, plan] of plans.entries()) {
      out.push(
        `## ${name}${plans.length > 1 ? ` (statement ${k + 1} of ${plans.length})` : ''}`,
        '',
        ...plan,
        '',
      );
      for (const l of plan)
        for (const m of l.matchAll(/(?:using|Index Scan on|Bitmap Index Scan on) (\w+)/g))
          indexes.add(m[1] as string);
      seq += plan.filter((l) => /Seq Scan on (posts|users|post_tags|follows)\b/.test(l)).length;
      times.push(plan.find((l) => l.startsWith('Execution Time'))?.replace('Execution Time: ', '') ?? '?');
    }
    summary.push(
      `${name}: ${times.join(' + ')}; indexes ${[...indexes].join(', ') || 'none'}${seq ? `; ${seq} seq scan(s)` : ''}`,
    );
  }
  return { text: out.join('\n'), summary };
}
