import { ShutterError } from '@shutter/protocol';
import type { Sql, SqlQueryable } from '../../sql/sql.js';
import type { EdgeState } from './edges.js';

/**
 * The writes of ONE side of the graph: each is one transaction in the
 * owner's database, touching only the owner's rows (`user_id = owner`) and
 * the owner's counts. The user actor of the owner calls them (`user-actor.ts`).
 *
 * Every transaction first locks the owner's `users` row (`FOR UPDATE`): the
 * owner's graph writes run one at a time in its database, whoever sends
 * them, so a count moves exactly with the rows (a row that appeared bumps
 * it, a row that went lowers it, in the same transaction), and a block and a
 * follow of the same pair cannot both be written on one side.
 */

type Dir = 'in' | 'out';

/** Which count of the owner an active edge in `dir` is part of. */
const COUNT: Record<Dir, string> = { in: 'follower_count', out: 'following_count' };

interface Owner {
  private: boolean;
}

/** Locks the owner's row; `not_found` if the account does not exist (or is deleted). */
async function lockOwner(tx: SqlQueryable, owner: string): Promise<Owner> {
  const r = await tx.query<{ private: boolean }>(
    'SELECT private FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE',
    [owner],
  );
  const row = r.rows[0];
  if (!row) throw new ShutterError('not_found', 'no such user');
  return row;
}

async function hasBlock(tx: SqlQueryable, owner: string, other: string): Promise<boolean> {
  const r = await tx.query('SELECT 1 FROM blocks WHERE user_id = $1 AND other_id = $2 LIMIT 1', [
    owner,
    other,
  ]);
  return r.rowCount > 0;
}

async function edgeOf(
  tx: SqlQueryable,
  owner: string,
  dir: Dir,
  other: string,
): Promise<{ state: EdgeState; edgeId: string } | undefined> {
  const r = await tx.query<{ state: EdgeState; edge_id: string }>(
    'SELECT state, edge_id::text AS edge_id FROM follows WHERE user_id = $1 AND dir = $2 AND other_id = $3',
    [owner, dir, other],
  );
  const row = r.rows[0];
  return row && { state: row.state, edgeId: row.edge_id };
}

async function bump(tx: SqlQueryable, owner: string, dir: Dir, delta: number): Promise<void> {
  if (delta === 0) return;
  const col = COUNT[dir];
  await tx.query(`UPDATE users SET ${col} = ${col} + $2 WHERE id = $1`, [owner, delta]);
}

const active = (s: EdgeState | null | undefined): number => (s === 'active' ? 1 : 0);

/** Writes (owner, dir, other) in `state`, moving the owner's count by the change in active edges. */
async function setEdge(
  tx: SqlQueryable,
  owner: string,
  dir: Dir,
  other: string,
  state: EdgeState,
  edgeId: string,
): Promise<EdgeState | null> {
  const before = await edgeOf(tx, owner, dir, other);
  if (!before) {
    await tx.query(
      'INSERT INTO follows (user_id, dir, other_id, state, edge_id) VALUES ($1, $2, $3, $4, $5)',
      [owner, dir, other, state, edgeId],
    );
  } else if (before.state !== state || before.edgeId !== edgeId) {
    // The edge id too: a follower's side repaired by a retry takes the followee's (the lists' order).
    await tx.query(
      'UPDATE follows SET state = $4, edge_id = $5 WHERE user_id = $1 AND dir = $2 AND other_id = $3',
      [owner, dir, other, state, edgeId],
    );
  }
  await bump(tx, owner, dir, active(state) - active(before?.state));
  return before?.state ?? null;
}

/** Deletes (owner, dir, other) (only a `pending` one with `only`), lowering the count if it was active. */
async function dropEdge(
  tx: SqlQueryable,
  owner: string,
  dir: Dir,
  other: string,
  only?: EdgeState,
): Promise<EdgeState | null> {
  const r = await tx.query<{ state: EdgeState }>(
    `DELETE FROM follows WHERE user_id = $1 AND dir = $2 AND other_id = $3 AND ($4::text IS NULL OR state = $4)
      RETURNING state`,
    [owner, dir, other, only ?? null],
  );
  const was = r.rows[0]?.state ?? null;
  await bump(tx, owner, dir, -active(was));
  return was;
}

/**
 * The followee's side of a follow: records (owner, 'in', follower). The
 * followee decides the state: `pending` when it is private, `active`
 * otherwise; an edge already there keeps its state and edge id (a retry),
 * except that a pending one becomes active once the account is public.
 * `blocked` if either blocks the other; `not_found` if the owner is gone.
 */
export async function acceptFollower(
  sql: Sql,
  owner: string,
  follower: string,
  edgeId: string,
): Promise<{ state: EdgeState; edgeId: string }> {
  return sql.transaction(async (tx) => {
    const me = await lockOwner(tx, owner);
    if (await hasBlock(tx, owner, follower)) throw new ShutterError('blocked', 'you cannot follow this user');
    const had = await edgeOf(tx, owner, 'in', follower);
    const state: EdgeState = had?.state === 'active' || !me.private ? 'active' : 'pending';
    const id = had?.edgeId ?? edgeId;
    await setEdge(tx, owner, 'in', follower, state, id);
    return { state, edgeId: id };
  });
}

/**
 * The follower's side: records (owner, 'out', followee) as the followee
 * decided. `blocked` if a block between them is on this side.
 */
export async function recordFollowing(
  sql: Sql,
  owner: string,
  followee: string,
  state: EdgeState,
  edgeId: string,
): Promise<void> {
  await sql.transaction(async (tx) => {
    await lockOwner(tx, owner);
    if (await hasBlock(tx, owner, followee)) throw new ShutterError('blocked', 'you cannot follow this user');
    await setEdge(tx, owner, 'out', followee, state, edgeId);
  });
}

/** Whether `owner` exists and a block stands between it and `other`, on the owner's side. */
export async function checkOwnSide(sql: Sql, owner: string, other: string): Promise<void> {
  const r = await sql.query<{ blocked: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM blocks WHERE user_id = $1 AND other_id = $2) AS blocked
       FROM users WHERE id = $1 AND deleted_at IS NULL`,
    [owner, other],
  );
  const row = r.rows[0];
  if (!row) throw new ShutterError('not_found', 'your account does not exist');
  if (row.blocked) throw new ShutterError('blocked', 'you cannot follow this user');
}

/** Removes the edge (owner, dir, other) (only a pending one with `only`): its state before, or null. */
export async function removeEdge(
  sql: Sql,
  owner: string,
  dir: Dir,
  other: string,
  only?: EdgeState,
): Promise<EdgeState | null> {
  return sql.transaction(async (tx) => {
    await lockOwner(tx, owner).catch(() => undefined);
    return dropEdge(tx, owner, dir, other, only);
  });
}

/**
 * Approves a request on the followee's side: pending → active. Answers the
 * edge's state before (`active` for a retry); `not_found` when there is no edge.
 */
export async function approveFollower(sql: Sql, owner: string, follower: string): Promise<EdgeState> {
  return sql.transaction(async (tx) => {
    await lockOwner(tx, owner);
    const had = await edgeOf(tx, owner, 'in', follower);
    if (!had) throw new ShutterError('not_found', 'no follow request from this user');
    if (had.state === 'pending') await setEdge(tx, owner, 'in', follower, 'active', had.edgeId);
    return had.state;
  });
}

/**
 * The follower's side of an approval: its pending (owner, 'out', followee)
 * becomes active. Nothing when the follower has cancelled meanwhile.
 */
export async function activateFollowing(sql: Sql, owner: string, followee: string): Promise<void> {
  await sql.transaction(async (tx) => {
    await lockOwner(tx, owner).catch(() => undefined);
    const had = await edgeOf(tx, owner, 'out', followee);
    if (had?.state === 'pending') await setEdge(tx, owner, 'out', followee, 'active', had.edgeId);
  });
}

/** A follow edge a block removed: `follower` → `followee`, as it was. */
export interface RemovedEdge {
  follower: string;
  followee: string;
  state: EdgeState;
}

/**
 * One side of a block: records (owner, dir, other) in `blocks` and removes
 * the follow edges between them both ways on this side, with the counts.
 */
export async function recordBlock(sql: Sql, owner: string, dir: Dir, other: string): Promise<RemovedEdge[]> {
  return sql.transaction(async (tx) => {
    await lockOwner(tx, owner);
    await tx.query(
      'INSERT INTO blocks (user_id, dir, other_id) VALUES ($1, $2, $3) ON CONFLICT (user_id, dir, other_id) DO NOTHING',
      [owner, dir, other],
    );
    const removed: RemovedEdge[] = [];
    const out = await dropEdge(tx, owner, 'out', other);
    if (out) removed.push({ follower: owner, followee: other, state: out });
    const inn = await dropEdge(tx, owner, 'in', other);
    if (inn) removed.push({ follower: other, followee: owner, state: inn });
    return removed;
  });
}

/** One side of an unblock. */
export async function removeBlock(sql: Sql, owner: string, dir: Dir, other: string): Promise<void> {
  await sql.query('DELETE FROM blocks WHERE user_id = $1 AND dir = $2 AND other_id = $3', [
    owner,
    dir,
    other,
  ]);
}
