import { ShutterError } from '@shutter/protocol';
import { type UserRow, Users } from '../accounts/users.js';
import { GraphReads } from '../graph/edges.js';
import type { CapabilityPorts } from '../operation.js';
import { type PostRow, selectPost } from '../posts/post-rows.js';

/** A live post and its author, as the comment operations check them. */
export interface SeenPost {
  post: PostRow;
  author: UserRow;
}

/**
 * The live post `postId` if `viewerId` may see it (`GraphReads.canSee`: the
 * rule of every read of posts), else `not_found` — the answer `posts.get`
 * gives a missing, deleted or hidden post (a block either way, a private
 * author not followed), so nothing tells them apart. Three queries: the
 * post, its author, the viewer's rows toward the author.
 */
export async function seenPost(
  ports: Pick<CapabilityPorts, 'db'>,
  viewerId: string,
  postId: string,
): Promise<SeenPost> {
  const post = await postIfSeen(ports, viewerId, postId);
  if (!post) throw new ShutterError('not_found', 'no post with that id');
  return post;
}

/** {@link seenPost}, answering undefined instead of `not_found`. */
export async function postIfSeen(
  ports: Pick<CapabilityPorts, 'db'>,
  viewerId: string,
  postId: string,
): Promise<SeenPost | undefined> {
  const post = await selectPost(ports.db, postId);
  if (!post || post.deleted) return undefined;
  const author = await new Users(ports.db).get(post.authorId);
  if (!author) return undefined;
  if (!(await new GraphReads(ports.db).canSee(viewerId, author))) return undefined;
  return { post, author };
}
