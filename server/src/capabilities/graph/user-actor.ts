import { type ActorContext, type ActorRef, type AnyActorType, defineActor } from '@shutter/actors';
import { newId, shardOfId } from '@shutter/protocol';
import { toClientError } from '../../actor-errors.js';
import type { Databases } from '../../storage/databases.js';
import type { EdgeState } from './edges.js';
import { KeyedLock } from './keyed-lock.js';
import {
  acceptFollower,
  activateFollowing,
  approveFollower,
  checkOwnSide,
  type RemovedEdge,
  recordBlock,
  recordFollowing,
  removeBlock,
  removeEdge,
} from './sides.js';

/**
 * The `user` actor (keyed by user id, placed on the user's shard beside the
 * user's rows) writes its user's side of the follow graph. The rows are the
 * truth (`persistence: 'none'`); each side write is one transaction in the
 * owner's database that moves the owner's counts with its rows (`sides.ts`).
 *
 * Two kinds of handler:
 * - **Coordinators** (`follow`, `unfollow`, `block`, `unblock` on the actor
 *   of the one who acts; `approve`, `deny`, `removeFollower` on the actor of
 *   the followee) write their own side and ask the other user's actor to
 *   write the other side. They run one at a time per pair (a lock keyed by
 *   the other user), so my follow and my unfollow of the same user never
 *   interleave.
 * - **Side writes** (`acceptFollower`, `dropFollower`, `activateFollowing`,
 *   `dropFollowing`, `blockedBy`, `unblockedBy`) write only this side and
 *   never ask anyone.
 *
 * The type is reentrant: a side write runs even while a coordinator of the
 * same actor awaits the other side. Non-reentrant, A following B while B
 * follows A would deadlock until the deadline (each actor waiting for the
 * other's answer behind its own busy turn). The database row lock of each
 * side keeps the side writes of one user in order.
 */
export function makeUserActor(db: Databases) {
  const side = sideWrites(db);
  // One lock per (this user, other user) pair: the actors of one node share the instance.
  const pairs = new KeyedLock();
  /** The other user's side writes, within the time left of the message being handled and SIDE_WRITE_MS. */
  const other = (ctx: Ctx, id: string) => {
    // The registered type itself (the runtime checks its identity), seen through its side writes.
    const ref = ctx.system.ref(self as AnyActorType, id) as unknown as ActorRef<typeof side>;
    const opts = { deadlineMs: Math.max(1, Math.min(SIDE_WRITE_MS, ctx.deadline - Date.now())) };
    // A refusal of the other side (`not_found`, `blocked`) reaches the caller as itself, not masked.
    return {
      ask: <M extends Parameters<typeof ref.ask>[0]>(msg: M) =>
        ref.ask(msg, opts).catch((e: unknown) => {
          throw toClientError(e);
        }),
    };
  };
  let self: unknown;

  const UserActor = defineActor({
    name: 'user',
    initialState: (): State => ({}),
    persistence: 'none',
    reentrant: true,
    handlers: {
      ...side,
      /** Coordinator (follower's actor): the followee decides the state, then my side records it. */
      follow: (ctx: Ctx, msg: { target: string }): Promise<{ state: EdgeState }> =>
        pairs.run(`${ctx.id}>${msg.target}`, async () => {
          const me = ctx.id;
          await checkOwnSide(db.forId(me), me, msg.target);
          const decided = await other(ctx, msg.target).ask({
            type: 'acceptFollower',
            follower: me,
            edgeId: newId(shardOfId(me) ?? 0),
          });
          await recordFollowing(db.forId(me), me, msg.target, decided.state, decided.edgeId);
          return { state: decided.state };
        }),
      /** Coordinator (follower's actor): my side first, so an 'out' row never outlives its 'in' row. */
      unfollow: (ctx: Ctx, msg: { target: string }): Promise<{ was: EdgeState | null }> =>
        pairs.run(`${ctx.id}>${msg.target}`, async () => {
          const mine = await removeEdge(db.forId(ctx.id), ctx.id, 'out', msg.target);
          const theirs = await other(ctx, msg.target).ask({ type: 'dropFollower', follower: ctx.id });
          return { was: theirs ?? mine };
        }),
      /** Coordinator (followee's actor): my 'in' edge becomes active, then the follower's 'out' edge. */
      approve: (ctx: Ctx, msg: { follower: string }): Promise<{ was: EdgeState }> =>
        pairs.run(`${ctx.id}>${msg.follower}`, async () => {
          const was = await approveFollower(db.forId(ctx.id), ctx.id, msg.follower);
          await other(ctx, msg.follower).ask({ type: 'activateFollowing', followee: ctx.id });
          return { was };
        }),
      /** Coordinator (followee's actor): removes a pending request on both sides. */
      deny: (ctx: Ctx, msg: { follower: string }): Promise<{ was: EdgeState | null }> =>
        pairs.run(`${ctx.id}>${msg.follower}`, async () => {
          const was = await removeEdge(db.forId(ctx.id), ctx.id, 'in', msg.follower, 'pending');
          await other(ctx, msg.follower).ask({ type: 'dropFollowing', followee: ctx.id, onlyPending: true });
          return { was };
        }),
      /** Coordinator (followee's actor): removes a follower (or a request) on both sides. */
      removeFollower: (ctx: Ctx, msg: { follower: string }): Promise<{ was: EdgeState | null }> =>
        pairs.run(`${ctx.id}>${msg.follower}`, async () => {
          const was = await removeEdge(db.forId(ctx.id), ctx.id, 'in', msg.follower);
          const theirs = await other(ctx, msg.follower).ask({
            type: 'dropFollowing',
            followee: ctx.id,
            onlyPending: false,
          });
          return { was: was ?? theirs };
        }),
      /** Coordinator (blocker's actor): my side (block row, edges gone), then the blocked user's side. */
      block: (ctx: Ctx, msg: { target: string }): Promise<RemovedEdge[]> =>
        pairs.run(`${ctx.id}>${msg.target}`, async () => {
          const mine = await recordBlock(db.forId(ctx.id), ctx.id, 'out', msg.target);
          const theirs = await other(ctx, msg.target).ask({ type: 'blockedBy', blocker: ctx.id });
          return mergeRemoved(mine, theirs);
        }),
      /** Coordinator (blocker's actor): both block rows go; follow edges are not restored. */
      unblock: (ctx: Ctx, msg: { target: string }): Promise<null> =>
        pairs.run(`${ctx.id}>${msg.target}`, async () => {
          await removeBlock(db.forId(ctx.id), ctx.id, 'out', msg.target);
          await other(ctx, msg.target).ask({ type: 'unblockedBy', blocker: ctx.id });
          return null;
        }),
    },
  });
  self = UserActor;
  return UserActor;
}

/**
 * How long a coordinator waits for the other side's write (one transaction)
 * before it gives up (the caller gets `timeout` and retries). Short on
 * purpose: a shard handoff waits for the running turns of its actors, and a
 * coordinator waits for another actor whose shard may be moving too; two
 * users acting on each other while both their shards move wait for each
 * other until this bound (measured: 60 of 182 follows at the deadline during
 * a node join with the 10 s ask deadline). The shorter it is, the sooner the
 * handoff goes on.
 */
const SIDE_WRITE_MS = 3000;

type State = Record<string, never>;
type Ctx = ActorContext<State>;

/** Side writes: this user's rows only (`ctx.id` is the owner); they never ask another actor. */
function sideWrites(db: Databases) {
  return {
    acceptFollower: (ctx: Ctx, msg: { follower: string; edgeId: string }) =>
      acceptFollower(db.forId(ctx.id), ctx.id, msg.follower, msg.edgeId),
    dropFollower: (ctx: Ctx, msg: { follower: string }) =>
      removeEdge(db.forId(ctx.id), ctx.id, 'in', msg.follower),
    activateFollowing: async (ctx: Ctx, msg: { followee: string }): Promise<null> => {
      await activateFollowing(db.forId(ctx.id), ctx.id, msg.followee);
      return null;
    },
    dropFollowing: (ctx: Ctx, msg: { followee: string; onlyPending: boolean }) =>
      removeEdge(db.forId(ctx.id), ctx.id, 'out', msg.followee, msg.onlyPending ? 'pending' : undefined),
    blockedBy: (ctx: Ctx, msg: { blocker: string }) =>
      recordBlock(db.forId(ctx.id), ctx.id, 'in', msg.blocker),
    unblockedBy: async (ctx: Ctx, msg: { blocker: string }): Promise<null> => {
      await removeBlock(db.forId(ctx.id), ctx.id, 'in', msg.blocker);
      return null;
    },
  };
}

export type UserActorType = ReturnType<typeof makeUserActor>;

/** The edges removed on either side, once each (a side may have lost its copy to an earlier crash). */
function mergeRemoved(a: readonly RemovedEdge[], b: readonly RemovedEdge[]): RemovedEdge[] {
  const out = new Map<string, RemovedEdge>();
  for (const e of [...a, ...b])
    if (!out.has(`${e.follower}>${e.followee}`)) out.set(`${e.follower}>${e.followee}`, e);
  return [...out.values()];
}
