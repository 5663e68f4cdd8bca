import { isId, type MethodResult, ShutterError } from '@shutter/protocol';
import type { Databases } from '../../storage/databases.js';
import { type UserRow, Users } from '../accounts/users.js';
import { type EdgeState, GraphReads } from './edges.js';

type UserPage = MethodResult<'graph.followers'>;

/** A cursor is the last edge id of a page, base64url: opaque to clients, stable while edges are added. */
export function encodeCursor(edgeId: string): string {
  return Buffer.from(edgeId, 'utf8').toString('base64url');
}

/** The edge id a cursor names; `invalid_cursor` if it is not one this server made. */
export function decodeCursor(cursor: string): string {
  const edgeId = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!isId(edgeId)) throw new ShutterError('invalid_cursor', 'cursor is not a nextCursor from this list');
  return edgeId;
}

/**
 * May `viewer` read `owner`'s lists? Themselves always; never across a
 * block (`blocked`); a private account only by its active followers
 * (`forbidden`). `not_found` when the account does not exist.
 */
export async function checkListAccess(db: Databases, viewer: string, owner: string): Promise<void> {
  const user = await new Users(db).get(owner);
  if (!user) throw new ShutterError('not_found', 'no such user');
  if (viewer === owner) return;
  const r = await new GraphReads(db).relation(viewer, owner);
  if (r.blocking || r.blockedBy) throw new ShutterError('blocked', "you cannot see this user's lists");
  if (user.private && r.following !== 'active')
    throw new ShutterError('forbidden', 'this account is private: only its followers see its lists');
}

/**
 * One page of `owner`'s followers (`in`) or followings (`out`) in `state`,
 * as `viewer` sees it: one query for the edges, one per database for the
 * users (`Users.many`), one for the viewer's blocks among them. Users the
 * viewer blocks or is blocked by, and deleted ones, are left out; the
 * cursor still moves past them.
 */
export async function listPage(
  db: Databases,
  viewer: string,
  owner: string,
  dir: 'in' | 'out',
  state: EdgeState,
  limit: number,
  cursor: string | undefined,
): Promise<UserPage> {
  const before = cursor === undefined ? undefined : decodeCursor(cursor);
  const edges = await new GraphReads(db).page(owner, dir, {
    state,
    limit: limit + 1,
    ...(before ? { before } : {}),
  });
  const more = edges.length > limit;
  const shown = edges.slice(0, limit);
  const ids = shown.map((e) => e.userId);
  const [users, hidden] = await Promise.all([new Users(db).many(ids), blockedAmong(db, viewer, ids)]);
  const items: UserPage['items'] = [];
  for (const id of ids) {
    const u = users.get(id);
    if (!u || hidden.has(id)) continue;
    items.push(userSummary(u));
  }
  const last = shown[shown.length - 1];
  return { items, nextCursor: more && last ? encodeCursor(last.edgeId) : null };
}

/** A user as lists show them (`UserSummary`: graph lists, likers). */
export function userSummary(u: UserRow): UserPage['items'][number] {
  return {
    id: u.id,
    username: u.username,
    displayName: u.displayName,
    avatarMediaId: u.avatarMediaId,
    private: u.private,
  };
}

/** Which of `ids` the viewer blocks or is blocked by: one query in the viewer's database. */
async function blockedAmong(db: Databases, viewer: string, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const r = await db
    .forId(viewer)
    .query<{ other_id: string }>(
      'SELECT DISTINCT other_id::text AS other_id FROM blocks WHERE user_id = $1 AND other_id = ANY($2::uuid[])',
      [viewer, ids],
    );
  return new Set(r.rows.map((x) => x.other_id));
}
