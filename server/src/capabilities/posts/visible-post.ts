import type { Databases } from '../../storage/databases.js';
import { visibleTo } from '../graph/visible-sql.js';

/**
 * The author's id of the live post `postId` if `viewer` may see it, else
 * undefined: the post and its author's account are live, and the posts rule
 * holds (`visibleTo`, the SQL of `mayView` in graph/edges.ts: never across
 * a block either way, a private author only by active followers). ONE
 * query, in the post's database: a post lives with its author, and so do
 * the author's sides of the graph (`follows` and `blocks` keep a row on
 * each side), so the author's rows toward the viewer answer what the
 * viewer's would. The hot paths use it (a like, a post view's lease and
 * each renewal); it was two queries, the second in the viewer's database.
 * Each probe is one primary-key lookup (graph/visible-sql.ts says why the
 * follow's state is compared outside it).
 */
export async function visiblePostAuthor(
  db: Databases,
  viewer: string,
  postId: string,
): Promise<string | undefined> {
  const r = await db.forId(postId).query<{ author_id: string }>(
    `SELECT u.id::text AS author_id
       FROM posts p JOIN users u ON u.id = p.author_id AND u.deleted_at IS NULL
      WHERE p.id = $1 AND p.deleted_at IS NULL AND ${visibleTo('u.id', 'u.private', '$2::uuid')}`,
    [postId, viewer],
  );
  return r.rows[0]?.author_id;
}
