import type { Comment } from '@shutter/protocol';
import { type UserRow, Users } from '../accounts/users.js';
import { GraphReads } from '../graph/edges.js';
import { type HydrationPorts, ImageMaker } from '../posts/hydrate.js';
import type { CommentRow } from './comment-rows.js';

/**
 * Comments as `viewerId` sees them: each with its author (id, username,
 * display name, avatar image) and mentions, in the order given. Comments of
 * deleted accounts are left out, and (`hideBlocked`, for lists) those of
 * users the viewer blocks or is blocked by.
 *
 * A FIXED number of queries whatever the page size: at once, the authors
 * (`Users.many`: one query per database) and the viewer's block rows
 * toward them (one query on the viewer's database); then the avatars' media
 * records (one query on the home database).
 */
export async function hydrateComments(
  ports: HydrationPorts,
  viewerId: string,
  rows: readonly CommentRow[],
  opts: { hideBlocked: boolean },
): Promise<Comment[]> {
  if (rows.length === 0) return [];
  const authorIds = [...new Set(rows.map((r) => r.authorId))];
  const [authors, relations] = await Promise.all([
    new Users(ports.db).many(authorIds),
    opts.hideBlocked ? new GraphReads(ports.db).viewerRelations(viewerId, authorIds) : undefined,
  ]);
  const shown = rows.filter((r) => authors.has(r.authorId) && !relations?.blocked.has(r.authorId));
  const avatarIds = [...authors.values()].flatMap((u) => (u.avatarMediaId ? [u.avatarMediaId] : []));
  const media = new Map((await ports.media.many(avatarIds)).map((m) => [m.id, m]));
  const images = new ImageMaker(ports.blobs, media);
  const people = new Map<string, Promise<Comment['author']>>();
  const author = (u: UserRow) => {
    let a = people.get(u.id);
    if (!a) {
      a = toAuthor(u, images);
      people.set(u.id, a);
    }
    return a;
  };
  return Promise.all(shown.map(async (r) => toComment(r, await author(authors.get(r.authorId) as UserRow))));
}

/** One user as a comment shows its author: one media query when they have an avatar, none otherwise. */
export async function hydrateAuthor(ports: HydrationPorts, u: UserRow): Promise<Comment['author']> {
  const media = u.avatarMediaId ? await ports.media.many([u.avatarMediaId]) : [];
  return toAuthor(u, new ImageMaker(ports.blobs, new Map(media.map((m) => [m.id, m]))));
}

async function toAuthor(u: UserRow, images: ImageMaker): Promise<Comment['author']> {
  const avatar = u.avatarMediaId ? await images.image(u.avatarMediaId) : undefined;
  return { id: u.id, username: u.username, displayName: u.displayName, avatar: avatar ?? null };
}

/** A row as the wire shows it, with its author already hydrated. */
export function toComment(r: CommentRow, author: Comment['author']): Comment {
  const c: Comment = {
    id: r.id,
    postId: r.postId,
    parentId: r.parentId,
    author,
    text: r.text,
    mentions: r.mentionIds.map((id, i) => ({ id, username: r.mentions[i] ?? '' })),
    createdAt: r.createdAt,
    replyCount: r.parentId === null ? r.replyCount : 0,
  };
  if (r.deleted) c.deleted = true;
  return c;
}
