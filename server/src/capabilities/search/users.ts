import type { MethodParams, MethodResult } from '@shutter/protocol';
import type { SqlQueryable } from '../../sql/sql.js';
import { GraphReads } from '../graph/edges.js';
import { notBlocked } from '../graph/visible-sql.js';
import type { OperationContext } from '../operation.js';
import { byName, type NameKey, nameCursor } from './cursor.js';
import { gatherPage, type Keyed } from './gather.js';
import { namePrefix } from './terms.js';

type FoundUser = MethodResult<'search.users'>['items'][number];

const DEFAULT_PAGE = 20;

interface RawFound extends Record<string, unknown> {
  id: string;
  username: string;
  display_name: string;
  avatar_media_id: string | null;
  private: boolean;
  name: string;
  followed: boolean;
}

/**
 * `search.users`: users whose username or display name starts with `q`,
 * people the caller follows first. A user's place in the list is the
 * smaller of their matching names (lower-cased, code-point order), so each
 * appears once however both names match.
 *
 * Each database answers from its own `users` rows: a range of the
 * `users_by_username` and `users_by_display_name` indexes from the cursor,
 * `limit + 1` each, for the people the caller follows (their ids, read once
 * from the caller's database) and for everyone else; blocks are checked on
 * each found user's side. Work per page: the caller's following list once,
 * then four index ranges per database that stop at the page.
 */
export async function searchUsers(
  ctx: OperationContext,
  p: MethodParams<'search.users'>,
): Promise<MethodResult<'search.users'>> {
  const q = namePrefix(p.q);
  const limit = p.limit ?? DEFAULT_PAGE;
  const after = p.cursor === undefined ? undefined : nameCursor.decode(p.cursor);
  const viewer = ctx.caller.userId;
  const followed = ctx.db.group(await new GraphReads(ctx.db).followingIds(viewer));
  const { page, nextCursor, partial } = await gatherPage<FoundUser, NameKey>(ctx, {
    limit,
    order: byName,
    cursor: nameCursor.encode,
    query: (sql, db) => nameRows(sql, { q, viewer, followed: followed.get(db) ?? [], after, n: limit + 1 }),
  });
  return { items: page, nextCursor, partial };
}

/** What one database is asked for a page of user search. */
export interface NameAsk {
  q: string;
  viewer: string;
  /** The users of this database the caller follows. */
  followed: string[];
  after: NameKey | undefined;
  n: number;
}

/** One database's users matching the prefix, after the cursor: `n` at most of each group and name. */
export async function nameRows(sql: SqlQueryable, a: NameAsk): Promise<Keyed<FoundUser, NameKey>[]> {
  // $1 q, $2 viewer, $3 followed ids, $4 n, $5/$6 the cursor's name and id.
  const branches: string[] = [];
  const inPhase = (followed: boolean) => a.after !== undefined && a.after.followed === followed;
  if (a.followed.length > 0 && (a.after === undefined || a.after.followed)) {
    branches.push(branch('username', 'display_name', true, inPhase(true)));
    branches.push(branch('display_name', 'username', true, inPhase(true)));
  }
  branches.push(branch('username', 'display_name', false, inPhase(false)));
  branches.push(branch('display_name', 'username', false, inPhase(false)));
  // A parameter no statement names has no type PostgreSQL can infer: the cursor's only when it is used.
  const params: unknown[] = [a.q, a.viewer, a.followed, a.n];
  if (a.after) params.push(a.after.name, a.after.id);
  const r = await sql.query<RawFound>(branches.map((b) => `(${b})`).join(' UNION ALL '), params);
  return r.rows.map((x) => ({
    value: {
      id: x.id,
      username: x.username,
      displayName: x.display_name,
      avatarMediaId: x.avatar_media_id,
      private: x.private,
      following: x.followed,
    },
    key: { followed: x.followed, name: x.name, id: x.id },
  }));
}

const PREFIX_FROM = `lower($1::text) COLLATE "C"`;
const PREFIX_TO = `(lower($1::text) || chr(1114111)) COLLATE "C"`;

/**
 * One index range: users whose `col` starts with the prefix and who are
 * listed by it (their `other` name does not match with a smaller value; on
 * a tie the username lists them), in or out of the followed ids, after the
 * cursor when it is in this group.
 */
function branch(col: string, other: string, followed: boolean, afterCursor: boolean): string {
  const name = `lower(u.${col}) COLLATE "C"`;
  const otherName = `lower(u.${other}) COLLATE "C"`;
  const listedByOther = `${otherName} >= ${PREFIX_FROM} AND ${otherName} < ${PREFIX_TO}
      AND ${otherName} ${col === 'username' ? '<' : '<='} ${name}`;
  return `SELECT u.id::text AS id, u.username, u.display_name, u.avatar_media_id, u.private,
      ${name} AS name, ${followed} AS followed
    FROM users u
   WHERE ${name} >= ${PREFIX_FROM} AND ${name} < ${PREFIX_TO}
     AND NOT (${listedByOther})
     AND u.deleted_at IS NULL
     AND ${followed ? '' : 'NOT '}(u.id = ANY ($3::uuid[]))
     ${afterCursor ? `AND (${name}, u.id) > ($5::text COLLATE "C", $6::uuid)` : ''}
     AND ${notBlocked('u.id', '$2::uuid')}
   ORDER BY ${name}, u.id LIMIT $4`;
}
