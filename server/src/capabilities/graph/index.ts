import { ShutterError } from '@shutter/protocol';
import { Users } from '../accounts/users.js';
import { defineCapability, defineOperation, type OperationContext } from '../operation.js';
import { GraphReads, graphMigrations } from './edges.js';
import { checkListAccess, listPage } from './lists.js';
import { makeUserActor, type UserActorType } from './user-actor.js';
import { removeUserFromGraph } from './user-deleted.js';

/**
 * The `graph` capability: follows (with requests to private accounts),
 * blocks, and the followers and following lists. Schemas:
 * `protocol/src/methods/graph.ts`. Every write goes through the `user` actor
 * of the user who acts (`user-actor.ts`), which writes its own side and asks
 * the other user's actor to write the other; `follow.changed` and
 * `block.changed` are emitted once both sides are durable, and awaited.
 * Every write answers the same for a retry, and emits again (handlers are
 * idempotent), so a retry after a failure between the sides repairs both
 * the edge and what other capabilities derive from it.
 */

/** The `user` actor type made for each actor system (one per node), from that node's databases. */
const actorTypes = new WeakMap<object, UserActorType>();

function userActor(ctx: OperationContext, id: string) {
  const type = actorTypes.get(ctx.actors);
  if (!type) throw new Error('graph: the user actor is not registered on this node');
  return ctx.actors.ref(type, id);
}

const ask = { deadline: (ctx: OperationContext) => ({ deadlineMs: ctx.askTimeoutMs }) };

function notSelf(ctx: OperationContext, target: string, what: string): void {
  if (ctx.caller.userId !== target) return;
  if (what === 'follow') throw new ShutterError('cannot_follow_self', 'you cannot follow yourself');
  throw new ShutterError('bad_request', `you cannot ${what} yourself`);
}

export const graph = defineCapability({
  name: 'graph',
  description: 'Follow graph: follows and follow requests, blocks, followers and following lists.',
  migrations: graphMigrations,
  actors: (ports) => {
    const type = makeUserActor(ports.db);
    actorTypes.set(ports.actors, type);
    return [type as never];
  },
  onUserDeleted: removeUserFromGraph,
  operations: [
    defineOperation({
      method: 'graph.follow',
      summary: 'Follows a user: active, or pending (a request) when the account is private.',
      http: { method: 'PUT', path: '/v1/users/{id}/follow' },
      auth: 'user',
      handler: async (ctx, p) => {
        notSelf(ctx, p.id, 'follow');
        const me = ctx.caller.userId;
        const r = await userActor(ctx, me).ask({ type: 'follow', target: p.id }, ask.deadline(ctx));
        await ctx.events.emit({ type: 'follow.changed', follower: me, followee: p.id, state: r.state });
        return { userId: p.id, state: r.state };
      },
    }),
    defineOperation({
      method: 'graph.unfollow',
      summary: 'Unfollows a user, or cancels a pending request.',
      http: { method: 'DELETE', path: '/v1/users/{id}/follow' },
      auth: 'user',
      handler: async (ctx, p) => {
        notSelf(ctx, p.id, 'follow');
        const me = ctx.caller.userId;
        await userActor(ctx, me).ask({ type: 'unfollow', target: p.id }, ask.deadline(ctx));
        await ctx.events.emit({ type: 'follow.changed', follower: me, followee: p.id, state: 'none' });
        return { userId: p.id, state: 'none' as const };
      },
    }),
    defineOperation({
      method: 'graph.followers',
      summary: "A page of a user's followers, newest first.",
      http: { method: 'GET', path: '/v1/users/{id}/followers' },
      auth: 'user',
      handler: async (ctx, p) => {
        await checkListAccess(ctx.db, ctx.caller.userId, p.id);
        return listPage(ctx.db, ctx.caller.userId, p.id, 'in', 'active', p.limit ?? 20, p.cursor);
      },
    }),
    defineOperation({
      method: 'graph.following',
      summary: 'A page of the users a user follows, newest first.',
      http: { method: 'GET', path: '/v1/users/{id}/following' },
      auth: 'user',
      handler: async (ctx, p) => {
        await checkListAccess(ctx.db, ctx.caller.userId, p.id);
        return listPage(ctx.db, ctx.caller.userId, p.id, 'out', 'active', p.limit ?? 20, p.cursor);
      },
    }),
    defineOperation({
      method: 'graph.requests',
      summary: 'A page of the pending follow requests to me, newest first.',
      http: { method: 'GET', path: '/v1/me/follow-requests' },
      auth: 'user',
      handler: async (ctx, p) => {
        const me = ctx.caller.userId;
        return listPage(ctx.db, me, me, 'in', 'pending', p.limit ?? 20, p.cursor);
      },
    }),
    defineOperation({
      method: 'graph.approve',
      summary: "Approves a user's follow request: they follow me.",
      http: { method: 'POST', path: '/v1/me/follow-requests/{id}/approve' },
      auth: 'user',
      handler: async (ctx, p) => {
        notSelf(ctx, p.id, 'approve');
        const me = ctx.caller.userId;
        await userActor(ctx, me).ask({ type: 'approve', follower: p.id }, ask.deadline(ctx));
        await ctx.events.emit({
          type: 'follow.changed',
          follower: p.id,
          followee: me,
          state: 'active',
          approved: true,
        });
        return { userId: p.id, state: 'active' as const };
      },
    }),
    defineOperation({
      method: 'graph.deny',
      summary: "Denies a user's pending follow request.",
      http: { method: 'DELETE', path: '/v1/me/follow-requests/{id}' },
      auth: 'user',
      handler: async (ctx, p) => {
        notSelf(ctx, p.id, 'deny');
        const me = ctx.caller.userId;
        await userActor(ctx, me).ask({ type: 'deny', follower: p.id }, ask.deadline(ctx));
        // An active follower stays one: deny touches requests only.
        const r = await new GraphReads(ctx.db).relation(me, p.id);
        const state = r.followedBy === 'active' ? ('active' as const) : ('none' as const);
        if (state === 'none')
          await ctx.events.emit({ type: 'follow.changed', follower: p.id, followee: me, state: 'none' });
        return { userId: p.id, state };
      },
    }),
    defineOperation({
      method: 'graph.removeFollower',
      summary: 'Removes a user from my followers (or their pending request).',
      http: { method: 'DELETE', path: '/v1/me/followers/{id}' },
      auth: 'user',
      handler: async (ctx, p) => {
        notSelf(ctx, p.id, 'remove');
        const me = ctx.caller.userId;
        await userActor(ctx, me).ask({ type: 'removeFollower', follower: p.id }, ask.deadline(ctx));
        await ctx.events.emit({ type: 'follow.changed', follower: p.id, followee: me, state: 'none' });
        return { userId: p.id, state: 'none' as const };
      },
    }),
    defineOperation({
      method: 'graph.block',
      summary: 'Blocks a user: follow edges both ways go, and neither sees the other.',
      http: { method: 'PUT', path: '/v1/users/{id}/block' },
      auth: 'user',
      handler: async (ctx, p) => {
        notSelf(ctx, p.id, 'block');
        const me = ctx.caller.userId;
        if (!(await new Users(ctx.db).get(p.id))) throw new ShutterError('not_found', 'no such user');
        const removed = await userActor(ctx, me).ask({ type: 'block', target: p.id }, ask.deadline(ctx));
        for (const e of removed)
          await ctx.events.emit({
            type: 'follow.changed',
            follower: e.follower,
            followee: e.followee,
            state: 'none',
          });
        await ctx.events.emit({ type: 'block.changed', blocker: me, blocked: p.id, on: true });
        return { userId: p.id, blocking: true };
      },
    }),
    defineOperation({
      method: 'graph.unblock',
      summary: 'Unblocks a user (follow edges are not restored).',
      http: { method: 'DELETE', path: '/v1/users/{id}/block' },
      auth: 'user',
      handler: async (ctx, p) => {
        notSelf(ctx, p.id, 'unblock');
        const me = ctx.caller.userId;
        await userActor(ctx, me).ask({ type: 'unblock', target: p.id }, ask.deadline(ctx));
        await ctx.events.emit({ type: 'block.changed', blocker: me, blocked: p.id, on: false });
        return { userId: p.id, blocking: false };
      },
    }),
    defineOperation({
      method: 'graph.relation',
      summary: 'How I stand with a user, both ways (follows and blocks).',
      http: { method: 'GET', path: '/v1/users/{id}/relation' },
      auth: 'user',
      handler: async (ctx, p) => {
        const r = await new GraphReads(ctx.db).relation(ctx.caller.userId, p.id);
        return {
          userId: p.id,
          following: r.following ?? 'none',
          followedBy: r.followedBy ?? 'none',
          blocking: r.blocking,
          blockedBy: r.blockedBy,
        };
      },
    }),
  ],
});
