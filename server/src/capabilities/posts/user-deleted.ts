import { isId } from '@shutter/protocol';
import type { CapabilityPorts } from '../operation.js';
import { markAuthorsPostsDeleted } from './post-rows.js';

/** Posts marked deleted per transaction when an account goes. */
export const DELETE_BATCH = 200;

/**
 * Posts' part of deleting an account: every post of the user is marked
 * deleted (rows stay, so a late retried create stays a no-op) in batches of
 * {@link DELETE_BATCH}, each one transaction that lowers the count with its
 * rows, and `post.deleted` is emitted for each post of a batch once it is
 * committed, so the feeds drop them. Run again after a failure, it goes on
 * where it stopped (the events of a batch whose emits failed are lost then:
 * the feed's read path drops deleted posts anyway, `hydratePosts`).
 */
export async function deleteUsersPosts(
  ports: Pick<CapabilityPorts, 'db' | 'events'>,
  userId: string,
): Promise<void> {
  if (!isId(userId)) return;
  const sql = ports.db.forId(userId);
  for (;;) {
    const ids = await markAuthorsPostsDeleted(sql, userId, DELETE_BATCH);
    for (const postId of ids) await ports.events.emit({ type: 'post.deleted', postId, authorId: userId });
    if (ids.length < DELETE_BATCH) return;
  }
}
