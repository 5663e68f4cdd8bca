import { visibleTo } from '../graph/visible-sql.js';
import { POST_COLUMNS } from '../posts/post-rows.js';

/**
 * A LATERAL join that keeps a row only when its author's account is live
 * and the viewer may see what they post (`visibleTo`, on the author's
 * `users` row). Its LIMIT keeps it a probe per row, made in the order the
 * rows come: under a LIMIT, visibility is checked for the rows a page
 * takes and a few more, never for every match (left as plain joins, the
 * planner hashed all of `users` and read all of the viewer's edges for a
 * page of a rare word: 10 ms at 50 000 users, growing with the tables).
 */
export function seenBy(author: string, viewer: string): string {
  return `CROSS JOIN LATERAL (SELECT 1 FROM users u
      WHERE u.id = ${author} AND u.deleted_at IS NULL AND ${visibleTo('u.id', 'u.private', viewer)}
      LIMIT 1) seen`;
}

/**
 * The rows of the live posts `hits` names (a subquery answering `id`), with
 * the columns `toPostRow` reads: the outer half of every post search, whose
 * inner half picks ids by an index and the visibility rule.
 */
export function postsIn(hits: string, extra = ''): string {
  return `SELECT ${POST_COLUMNS}${extra} FROM posts JOIN (${hits}) hits USING (id)`;
}
