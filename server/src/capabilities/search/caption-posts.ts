import type { MethodParams, MethodResult } from '@shutter/protocol';
import type { SqlQueryable } from '../../sql/sql.js';
import type { OperationContext } from '../operation.js';
import { POST_COLUMNS, type PostRow, type RawPost, toPostRow } from '../posts/post-rows.js';
import { type IdKey, idCursor, NEWEST, newestFirst } from './cursor.js';
import { gatherPosts, type Keyed } from './gather.js';
import { captionQuery } from './terms.js';
import { postsIn, seenBy } from './visible-sql.js';

const DEFAULT_PAGE = 20;

/**
 * At most this many matches a database reads through the GIN index for one
 * page; a query with more is common enough to find its page by walking
 * posts newest first instead (`captionRows`).
 */
export const FEW_MATCHES = 1000;

/**
 * `search.posts`: live posts whose caption holds every word of `q`
 * (`plainto_tsquery` against the stored `caption_words`, PostgreSQL's
 * `simple` configuration), newest first.
 */
export async function captionPosts(
  ctx: OperationContext,
  p: MethodParams<'search.posts'>,
): Promise<MethodResult<'search.posts'>> {
  const q = captionQuery(p.q);
  const limit = p.limit ?? DEFAULT_PAGE;
  const after = p.cursor === undefined ? NEWEST : idCursor.decode(p.cursor);
  return gatherPosts<IdKey>(ctx, {
    limit,
    order: newestFirst,
    cursor: idCursor.encode,
    query: (sql) => captionRows(sql, q, ctx.caller.userId, after, limit + 1),
  });
}

const MATCH = `p.caption_words @@ plainto_tsquery('simple', $1) AND p.deleted_at IS NULL AND p.id < $3::uuid`;

/**
 * One database's live posts the viewer may see whose caption holds every
 * word of `q`, newest first after `after`: `n` at most. Bounded both ways,
 * whatever the planner guesses about a word:
 *
 * 1. up to FEW_MATCHES + 1 matches through the GIN index (a word that is
 *    rare or nowhere costs next to nothing), sorted newest first, then the
 *    visibility probe per row until the page is full (the `OFFSET 0`
 *    keeps the sort below the probes);
 * 2. only when there were more: the same query over posts newest first
 *    (the primary key, backwards), testing each row's stored words, which
 *    stops within about n × (posts / FEW_MATCHES) rows because such a
 *    query matches at least that often.
 *
 * (One plan for both went wrong both ways at a million posts: newest-first
 * for a word in no caption reads every post; the GIN index for a word in a
 * third of them reads a third of the table.)
 */
export async function captionRows(
  sql: SqlQueryable,
  q: string,
  viewer: string,
  after: IdKey,
  n: number,
  fewMatches = FEW_MATCHES,
): Promise<Keyed<PostRow, IdKey>[]> {
  const keyed = (rows: RawPost[]) =>
    rows.map((raw) => {
      const row = toPostRow(raw);
      return { value: row, key: { id: row.id } };
    });
  const few = await sql.query<RawPost & { matched: number }>(
    `WITH few AS MATERIALIZED (SELECT p.id, p.author_id FROM posts p WHERE ${MATCH} LIMIT $5),
          page AS (SELECT f.id FROM (SELECT id, author_id FROM few ORDER BY id DESC OFFSET 0) f
            ${seenBy('f.author_id', '$2::uuid')} ORDER BY f.id DESC LIMIT $4)
     SELECT m.matched, x.* FROM (SELECT count(*)::integer AS matched FROM few) m
       LEFT JOIN (SELECT ${POST_COLUMNS} FROM posts JOIN page USING (id)) x ON true`,
    [q, viewer, after.id, n, fewMatches + 1],
  );
  if ((few.rows[0]?.matched ?? 0) <= fewMatches) return keyed(few.rows.filter((r) => r.id !== null));
  const r = await sql.query<RawPost>(
    postsIn(`SELECT p.id FROM posts p ${seenBy('p.author_id', '$2::uuid')}
        WHERE ${MATCH} ORDER BY p.id DESC LIMIT $4`),
    [q, viewer, after.id, n],
  );
  return keyed(r.rows);
}
