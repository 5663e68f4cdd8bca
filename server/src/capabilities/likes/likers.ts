import { isId, type MethodResult, ShutterError } from '@shutter/protocol';
import type { Databases } from '../../storage/databases.js';
import { Users } from '../accounts/users.js';
import { GraphReads } from '../graph/edges.js';
import { userSummary } from '../graph/lists.js';
import { type LikeEntry, type LikePosition, likesPage } from './likes-rows.js';

type LikersPage = MethodResult<'likes.list'>;

/**
 * Where a list of likers stands: in the first group (people the viewer
 * follows) or the second (everyone else), after a like or at the group's
 * start. Opaque to clients: base64url of `k1:<group>:<ms>:<userId>`.
 */
interface ListCursor {
  group: 'followed' | 'rest';
  after?: LikePosition;
}

const PREFIX = 'k1:';

export function encodeLikersCursor(c: ListCursor): string {
  const g = c.group === 'followed' ? 'f' : 'r';
  const pos = c.after ? `${c.after.at}:${c.after.userId}` : ':';
  return Buffer.from(`${PREFIX}${g}:${pos}`).toString('base64url');
}

export function decodeLikersCursor(cursor: string): ListCursor {
  const text = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const m = /^k1:([fr]):(?:(\d{1,15}):(.+)|:)$/.exec(text);
  if (!m || (m[3] !== undefined && !isId(m[3])))
    throw new ShutterError('invalid_cursor', 'this cursor was not made by this list; start over without one');
  const group = m[1] === 'f' ? 'followed' : 'rest';
  return m[2] !== undefined && m[3] !== undefined
    ? { group, after: { at: Number(m[2]), userId: m[3] } }
    : { group };
}

/**
 * One page of a post's likers as `viewer` sees them: the likers the viewer
 * follows first, then everyone else, each group newest like first. Reads:
 * the viewer's followings (one query in their database), the likes (one
 * or two queries in the post's database), then at once the likers' users
 * (one query per database) and the viewer's follows and blocks toward them
 * (one query). Blocked and deleted likers are left out; the cursor still
 * moves past them. The caller has checked the viewer may see the post.
 */
export async function likersPage(
  db: Databases,
  viewer: string,
  postId: string,
  limit: number,
  cursor: string | undefined,
): Promise<LikersPage> {
  const at = cursor === undefined ? { group: 'followed' as const } : decodeLikersCursor(cursor);
  const followed = await new GraphReads(db).followingIds(viewer);
  const sql = db.forId(postId);
  const shown: LikeEntry[] = [];
  let next: ListCursor | null = null;
  let rest: LikePosition | undefined = at.group === 'rest' ? at.after : undefined;
  if (at.group === 'followed') {
    const page = await likesPage(sql, postId, {
      mode: 'among',
      users: followed,
      ...(at.after ? { after: at.after } : {}),
      limit: limit + 1,
    });
    shown.push(...page.slice(0, limit));
    if (page.length > limit) next = { group: 'followed', after: position(shown) };
    rest = undefined;
  }
  const room = limit - shown.length;
  if (next === null) {
    const page = await likesPage(sql, postId, {
      mode: 'except',
      users: followed,
      ...(rest ? { after: rest } : {}),
      limit: room + 1,
    });
    const taken = page.slice(0, room);
    // Nothing taken (the first group filled the page exactly): the next page starts the second group.
    if (page.length > room)
      next = taken.length > 0 ? { group: 'rest', after: position(taken) } : { group: 'rest' };
    shown.push(...taken);
  }
  const ids = shown.map((l) => l.userId);
  const [users, relations] = await Promise.all([
    new Users(db).many(ids),
    new GraphReads(db).viewerRelations(viewer, ids),
  ]);
  const items: LikersPage['items'] = [];
  for (const like of shown) {
    const u = users.get(like.userId);
    if (!u || relations.blocked.has(u.id)) continue;
    items.push({ ...userSummary(u), likedAt: like.at, following: relations.following.has(u.id) });
  }
  return { items, nextCursor: next ? encodeLikersCursor(next) : null };
}

function position(likes: readonly LikeEntry[]): LikePosition {
  const last = likes[likes.length - 1] as LikeEntry;
  return { at: last.at, userId: last.userId };
}
