import { isId } from '@shutter/protocol';
import type { Sql } from '../../sql/sql.js';
import type { CapabilityPorts } from '../operation.js';
import { type AnnouncePorts, announceDeleted } from './announce.js';
import { GONE_COLUMNS, type GoneComment, type RawGone, toGone } from './comment-writes.js';

/** Comments of a deleted account marked deleted per transaction. */
export const DELETE_BATCH = 200;

/**
 * Comments' part of deleting an account: on every database (the account
 * commented on anyone's posts), its live comments are deleted as
 * `comments.delete` deletes them — with a top-level comment its replies,
 * counts lowered in the same transaction — {@link DELETE_BATCH} at a time,
 * each batch announced once committed; then every row of the account goes
 * (its text with it). Run again after a failure, it goes on where it
 * stopped; the replies of others under its comments stay as deleted rows.
 */
export async function deleteUsersComments(
  ports: Pick<CapabilityPorts, 'db' | 'events' | 'streams'>,
  userId: string,
): Promise<void> {
  if (!isId(userId)) return;
  for (const sql of ports.db.all) {
    for (;;) {
      const batch = await deleteBatch(sql, userId, DELETE_BATCH);
      await announceBatch(ports, batch.gone);
      if (batch.scanned < DELETE_BATCH) break;
    }
    await sql.query('DELETE FROM comments WHERE author_id = $1', [userId]);
  }
}

interface GoneInPost extends GoneComment {
  postId: string;
  postAuthorId: string;
}

/**
 * One transaction: up to `limit` live comments of `userId`, and the replies
 * under its top-level ones, marked deleted; `reply_count` and
 * `comment_count` lowered by as many. Locks in the writers' order: the
 * threads' top-level rows (sorted), then the posts' rows (sorted).
 */
async function deleteBatch(
  sql: Sql,
  userId: string,
  limit: number,
): Promise<{ scanned: number; gone: GoneInPost[] }> {
  return sql.transaction(async (tx) => {
    const mine = await tx.query<{ id: string; parent_id: string | null }>(
      `SELECT id::text AS id, parent_id::text AS parent_id FROM comments
        WHERE author_id = $1 AND deleted_at IS NULL ORDER BY id LIMIT $2`,
      [userId, limit],
    );
    if (mine.rows.length === 0) return { scanned: 0, gone: [] };
    const ids = mine.rows.map((r) => r.id);
    const roots = mine.rows.filter((r) => r.parent_id === null).map((r) => r.id);
    const threads = [...new Set(mine.rows.map((r) => r.parent_id ?? r.id))];
    await tx.query('SELECT 1 FROM comments WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [threads]);
    const marked = await tx.query<RawGone & { post_id: string }>(
      `UPDATE comments SET deleted_at = now()
        WHERE deleted_at IS NULL AND (id = ANY($1::uuid[]) OR parent_id = ANY($2::uuid[]))
        RETURNING ${GONE_COLUMNS}, post_id::text AS post_id`,
      [ids, roots],
    );
    const gone = marked.rows.map((r) => ({ ...toGone(r), postId: r.post_id }));
    const goneIds = new Set(gone.map((c) => c.id));
    const repliesLost = countBy(
      gone.filter((c) => c.parentId !== null && !goneIds.has(c.parentId)),
      (c) => c.parentId as string,
    );
    if (repliesLost.size > 0)
      await tx.query(
        `UPDATE comments SET reply_count = GREATEST(reply_count - d.n, 0)
           FROM unnest($1::uuid[], $2::int[]) AS d(id, n) WHERE comments.id = d.id`,
        [[...repliesLost.keys()], [...repliesLost.values()]],
      );
    const perPost = countBy(gone, (c) => c.postId);
    const posts = await tx.query<{ id: string; author_id: string }>(
      'SELECT id::text AS id, author_id::text AS author_id FROM posts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
      [[...perPost.keys()]],
    );
    await tx.query(
      `UPDATE posts SET comment_count = GREATEST(comment_count - d.n, 0)
         FROM unnest($1::uuid[], $2::int[]) AS d(id, n) WHERE posts.id = d.id`,
      [[...perPost.keys()], [...perPost.values()]],
    );
    const authorOf = new Map(posts.rows.map((p) => [p.id, p.author_id]));
    return {
      scanned: mine.rows.length,
      gone: gone.map((c) => ({ ...c, postAuthorId: authorOf.get(c.postId) ?? '' })),
    };
  });
}

/** The batch's events, one `announceDeleted` per post. */
async function announceBatch(ports: AnnouncePorts, gone: readonly GoneInPost[]): Promise<void> {
  const byPost = new Map<string, GoneInPost[]>();
  for (const c of gone) byPost.set(c.postId, [...(byPost.get(c.postId) ?? []), c]);
  for (const [postId, list] of byPost)
    await announceDeleted(ports, { id: postId, authorId: (list[0] as GoneInPost).postAuthorId }, list);
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of items) out.set(key(t), (out.get(key(t)) ?? 0) + 1);
  return out;
}
