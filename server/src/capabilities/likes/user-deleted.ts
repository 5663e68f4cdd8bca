import { isId } from '@shutter/protocol';
import type { CapabilityPorts } from '../operation.js';
import { removeUsersLikes } from './likes-rows.js';

/** Likes removed per statement when an account goes. */
export const UNLIKE_BATCH = 500;

/**
 * Likes' part of deleting an account: on every database (a user's likes
 * live with the posts they liked, anywhere), the user's likes go
 * {@link UNLIKE_BATCH} at a time, each statement lowering the counts of the
 * posts it touched, and `likes.changed` (the user in `unliked`) is emitted
 * for each of those posts once committed. Run again after a failure, it
 * goes on where it stopped (the events of a statement whose emits failed
 * are lost: the counts are right anyway).
 *
 * It writes beside the post actors, not through them: both move a count
 * only with its rows in one statement, so counts stay exact; only the
 * order of the events of one post may then differ from the order of their
 * commits (each carries the count its own commit left).
 */
export async function deleteUsersLikes(
  ports: Pick<CapabilityPorts, 'db' | 'events'>,
  userId: string,
): Promise<void> {
  if (!isId(userId)) return;
  for (const sql of ports.db.all) {
    for (;;) {
      const { removed, posts } = await removeUsersLikes(sql, userId, UNLIKE_BATCH);
      for (const p of posts)
        await ports.events.emit({
          type: 'likes.changed',
          postId: p.postId,
          authorId: p.authorId,
          liked: [],
          unliked: [userId],
          likeCount: p.likeCount,
        });
      if (removed < UNLIKE_BATCH) break;
    }
  }
}
