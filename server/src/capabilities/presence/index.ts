import { presenceStream } from '@shutter/protocol';
import { defineCapability, defineOperation, type LeasedStreamRule } from '../operation.js';
import { asSeen, followingPresence } from './following.js';
import { presenceNodeOf, startPresenceNode } from './presence-node.js';
import { deletePresenceRow, isVisible, presenceMigrations, setVisible } from './presence-table.js';

export { MemoryPresenceStore } from './memory-presence-store.js';
export { PRESENCE_GAUGES, presenceNodeOf, presenceStats } from './presence-node.js';
export type { PresenceStore } from './presence-store.js';

/**
 * `presence:<id>`: the live presence of the people user `<id>` follows, for
 * that user alone; a direct leased stream (each view gets its own events,
 * nothing stored). The first view of a user on a node loads whom they
 * follow into the node's index; the last one to end takes it away.
 */
const presenceStreamRule: LeasedStreamRule = {
  authorize: (_ports, userId, stream) => stream === presenceStream(userId),
  leaseMs: (config) => config.presence.watchLeaseMs,
  direct: true,
  onView: (ports, v) => presenceNodeOf(ports)?.watchers.view(v.userId, v),
  onLeave: (ports, v) => presenceNodeOf(ports)?.watchers.leave(v.userId, v.viewer),
};

/**
 * The `presence` capability (issue 11 §1; docs/architecture.md "Presence"):
 * a user is online on any device, with a grace period against flapping;
 * their active followers see it (never across a block; nobody while they
 * hide it), as a list (`presence.following`) and live on `presence:<id>`,
 * batched per watcher. Sessions come from the gateway as domain events; the
 * store (`presence-store.ts`) holds who is online on which node; each change
 * is published once to the cluster, and each node delivers it to its own
 * watchers (`watchers.ts`). Schemas: `protocol/src/methods/presence.ts`.
 */
export const presence = defineCapability({
  name: 'presence',
  description: 'Presence: who of the people I follow is online, last seen, and my visibility.',
  migrations: presenceMigrations,
  streams: { presence: presenceStreamRule },
  onUserDeleted: (ports, userId) => deletePresenceRow(ports.db, userId),
  async start(ports) {
    const node = await startPresenceNode(ports);
    return { stop: () => node.stop() };
  },
  operations: [
    defineOperation({
      method: 'presence.following',
      summary:
        'Who of the people I follow is online now, with last seen for the rest (online first; capped).',
      http: { method: 'GET', path: '/v1/presence/following' },
      auth: 'user',
      handler: (ctx, p) => followingPresence(ctx.db, ctx.presence, ctx.caller.userId, p.limit ?? 200),
    }),
    defineOperation({
      method: 'presence.settings',
      summary: 'My presence setting: whether followers see when I am online.',
      http: { method: 'GET', path: '/v1/presence/settings' },
      auth: 'user',
      handler: async (ctx) => ({ visible: await isVisible(ctx.db, ctx.caller.userId) }),
    }),
    defineOperation({
      method: 'presence.updateSettings',
      summary: 'Shows or hides my presence; hidden, I look offline to everyone, without a last seen.',
      http: { method: 'PUT', path: '/v1/presence/settings' },
      auth: 'user',
      handler: async (ctx, p) => {
        const me = ctx.caller.userId;
        // The row first, then a new version: a transition the store made before this is older, and one
        // made after it reads the row (outbox.ts), so the last word a follower gets is the setting's.
        const row = await setVisible(ctx.db, me, p.visible);
        if (row.changed) {
          const state = await ctx.presence.touch(me, ctx.now());
          presenceNodeOf(ctx)?.outbox.announce(asSeen(me, state, row));
        }
        return { visible: row.visible };
      },
    }),
  ],
});
