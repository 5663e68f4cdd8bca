import { ShutterError } from '@shutter/protocol';
import type { Databases } from '../../storage/databases.js';
import { visiblePostAuthor } from '../posts/visible-post.js';

/**
 * Checks `viewer` may see the post (`visiblePostAuthor`: one query in the
 * post's database). Otherwise `not_found`, the answer `posts.get` gives, so
 * a like or a list tells nothing more than a read about a hidden post.
 * Answers the author's id.
 */
export async function visiblePost(db: Databases, viewer: string, postId: string): Promise<string> {
  const author = await visiblePostAuthor(db, viewer, postId);
  if (author === undefined) throw new ShutterError('not_found', 'no post with that id');
  return author;
}
