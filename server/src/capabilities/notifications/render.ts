import type { Notification } from '@shutter/protocol';
import type { Databases } from '../../storage/databases.js';
import { Users } from '../accounts/users.js';
import type { NotificationRow } from './tables.js';

type Actor = Notification['actors'][number];

/** "alice", "alice and bob", "alice and 12 others" (count: everyone it stands for). */
function who(actors: readonly Actor[], count: number): string {
  const [a, b] = actors;
  if (!a) return count > 1 ? `${count} people` : 'Someone';
  if (count <= 1) return a.username;
  if (count === 2 && b) return `${a.username} and ${b.username}`;
  return `${a.username} and ${count - 1} others`;
}

/** "alice", "alice and bob", "alice, bob and others": distinct people behind `count` comments. */
function commenters(actors: readonly Actor[]): string {
  const [a, b, c] = actors;
  if (!a) return 'Someone';
  if (!b) return a.username;
  return c ? `${a.username}, ${b.username} and others` : `${a.username} and ${b.username}`;
}

/** The text a notification shows, in English (apps may render their own from type, actors and count). */
export function renderText(
  n: Pick<NotificationRow, 'type' | 'count' | 'snippet' | 'comment_id'>,
  actors: readonly Actor[],
): string {
  const quote = n.snippet ? `: ${n.snippet}` : '';
  switch (n.type) {
    case 'like':
      return `${who(actors, n.count)} liked your photo`;
    case 'comment':
      return n.count <= 1
        ? `${who(actors, 1)} commented${quote}`
        : `${commenters(actors)} left ${n.count} comments on your photo`;
    case 'reply':
      return `${who(actors, 1)} replied to your comment${quote}`;
    case 'mention':
      return n.comment_id
        ? `${who(actors, 1)} mentioned you in a comment${quote}`
        : `${who(actors, 1)} mentioned you in a post`;
    case 'follow':
      return `${who(actors, 1)} started following you`;
    case 'follow_request':
      return `${who(actors, 1)} asked to follow you`;
    case 'follow_approved':
      return `${who(actors, 1)} accepted your follow request`;
    default: {
      const never: never = n.type;
      throw new Error(`unknown notification type ${String(never)}`);
    }
  }
}

/**
 * Stored notifications as the wire shows them: actors read (one query per
 * database, however many rows), text rendered. A notification none of whose
 * kept actors still has an account is left out (`keepOrphans: false`, the
 * list) — there is nobody to show.
 */
export async function toWire(
  db: Databases,
  rows: readonly NotificationRow[],
  keepOrphans = true,
): Promise<Notification[]> {
  const users = await new Users(db).many(rows.flatMap((r) => r.actor_ids));
  const out: Notification[] = [];
  for (const r of rows) {
    const actors: Actor[] = [];
    for (const id of r.actor_ids) {
      const u = users.get(id);
      if (u)
        actors.push({ id, username: u.username, displayName: u.displayName, avatarMediaId: u.avatarMediaId });
    }
    if (actors.length === 0 && !keepOrphans) continue;
    out.push({
      id: r.id,
      type: r.type,
      actors,
      count: Math.max(1, r.count),
      text: renderText(r, actors),
      postId: r.post_id,
      commentId: r.comment_id,
      snippet: r.snippet,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      version: r.version,
      read: r.read,
      seen: r.seen,
    });
  }
  return out;
}
