import { MAX_COMMENT_MENTIONS, ShutterError } from '@shutter/protocol';
import type { Sql } from '../../sql/sql.js';
import type { Databases } from '../../storage/databases.js';
import { Users } from '../accounts/users.js';
import { parseMentions } from '../posts/caption.js';

/** An account a comment @mentions: the username as written (lower-cased) and its id. */
export interface Mention {
  username: string;
  id: string;
}

/**
 * The @mentions of a comment's text (the caption's rule: `posts/caption.ts`)
 * that name a live account, in order of first appearance; a name nobody
 * holds is plain text. More than {@link MAX_COMMENT_MENTIONS} distinct names
 * is `bad_request` (`parseCommentMentions`, before anything is read).
 * Two rounds whatever the count: the name claims (one query per database
 * holding some, `forKey`), then the accounts (`Users.many`).
 */
export async function resolveMentions(db: Databases, names: readonly string[]): Promise<Mention[]> {
  if (names.length === 0) return [];
  const byDb = new Map<Sql, string[]>();
  for (const name of names) {
    const sql = db.forKey(name);
    byDb.set(sql, [...(byDb.get(sql) ?? []), name]);
  }
  const claims = (
    await Promise.all(
      [...byDb].map(async ([sql, part]) => {
        const r = await sql.query<{ name: string; user_id: string }>(
          'SELECT name, user_id::text AS user_id FROM usernames WHERE name = ANY($1::text[])',
          [part],
        );
        return r.rows;
      }),
    )
  ).flat();
  const idOf = new Map(claims.map((c) => [c.name, c.user_id]));
  const live = await new Users(db).many([...idOf.values()]);
  return names.flatMap((username) => {
    const id = idOf.get(username);
    return id !== undefined && live.has(id) ? [{ username, id }] : [];
  });
}

/** The distinct @usernames of a comment's text; `bad_request` past {@link MAX_COMMENT_MENTIONS}. */
export function parseCommentMentions(text: string): string[] {
  const names = parseMentions(text);
  if (names.length > MAX_COMMENT_MENTIONS)
    throw new ShutterError(
      'bad_request',
      `a comment mentions at most ${MAX_COMMENT_MENTIONS} accounts (this one names ${names.length})`,
    );
  return names;
}
