/**
 * SQL for "the viewer may see what this user posts" (the posts rule,
 * `mayView` in graph/edges.ts), answered in the USER's own database, so a
 * query that runs on every database filters before its LIMIT: the graph
 * keeps both sides of every edge, and the user's side says whether the
 * viewer follows them (`follows (user, 'in', viewer, 'active')`) and whether
 * a block stands either way (`blocks (user, 'in' | 'out', viewer)`).
 *
 * `user` is the column of the user's id and `isPrivate` of their private
 * flag (their `users` row, joined live); `viewer` is the parameter holding
 * the caller's id. Each probe is one primary-key lookup: the follow's state
 * is compared outside it, so no other index of `follows` can match it (with
 * `state = 'active'` in the WHERE Postgres chose `follows_list` and walked
 * every follower of the user to find one: 27 ms and 3 400 buffers a check
 * for an author with 7 000 followers, measured in a like storm).
 *
 * Used by search and places (in their scatter queries) and by a post's
 * visibility check (`posts/visible-post.ts`).
 */
export function visibleTo(user: string, isPrivate: string, viewer: string): string {
  return `(${user} = ${viewer} OR (${notBlocked(user, viewer)}
    AND (NOT ${isPrivate} OR COALESCE((SELECT f.state = 'active' FROM follows f
      WHERE f.user_id = ${user} AND f.dir = 'in' AND f.other_id = ${viewer}), false))))`;
}

/** No block between the user and the viewer, either way (from the user's side). */
export function notBlocked(user: string, viewer: string): string {
  return `NOT EXISTS (SELECT 1 FROM blocks b
      WHERE b.user_id = ${user} AND b.dir IN ('in', 'out') AND b.other_id = ${viewer})`;
}
