import { ShutterError } from '@shutter/protocol';
import { defineCapability, defineOperation } from '../operation.js';
import { runNotifyJob } from './consume.js';
import { enqueueFromEvents, type NotifyJob } from './jobs.js';
import { markRead, markShown, startPushSweeper } from './ledger.js';
import { listNotifications, mutedTypes, setMutedTypes } from './reads.js';
import { RecipientWrites } from './recipient-writes.js';
import { retentionMigrations, startRetentionSweep } from './retention.js';
import { notificationMigrations } from './tables.js';
import { unreadIn } from './writer.js';

/**
 * The `notifications` capability (issue 10 §4–5; docs/architecture.md
 * "Notifications"): likes, comments, replies, mentions, follows, follow
 * requests and approvals, made from the domain events by a durable job
 * (`jobs.ts`: a handler only enqueues; `consume.ts` writes), stored on the
 * recipient's shard (`tables.ts`), deduplicated by event key, folded per post
 * (`writer.ts`), live on `user:<id>:inbox`, and pushed by the delivery
 * ledger when no socket reports them shown in time (`ledger.ts`). Schemas:
 * `protocol/src/methods/notifications.ts`.
 */
export const notifications = defineCapability({
  name: 'notifications',
  description: 'Notifications: listed, counted, read, live on the inbox stream, pushed when unseen.',
  migrations: [...notificationMigrations, ...retentionMigrations],
  operations: [
    defineOperation({
      method: 'notifications.list',
      summary: "A page of the caller's notifications, most recently changed first, with the unread count.",
      http: { method: 'GET', path: '/v1/notifications' },
      auth: 'user',
      handler: (ctx, p) => listNotifications(ctx, ctx.caller.userId, p),
    }),
    defineOperation({
      method: 'notifications.read',
      summary: 'Marks notifications read: the ids given, or all of them.',
      http: { method: 'POST', path: '/v1/notifications/read' },
      auth: 'user',
      handler: async (ctx, p) => {
        if ((p.ids === undefined) === (p.all === undefined))
          throw new ShutterError(
            'bad_request',
            'send either ids (the notifications to mark read) or all: true',
          );
        return markRead(ctx, ctx.caller.userId, p.ids ?? 'all');
      },
    }),
    defineOperation({
      method: 'notifications.unread',
      summary: "The caller's unread notification count.",
      http: { method: 'GET', path: '/v1/notifications/unread' },
      auth: 'user',
      handler: async (ctx) => ({
        unreadCount: await unreadIn(ctx.db.forId(ctx.caller.userId), ctx.caller.userId),
      }),
    }),
    defineOperation({
      method: 'notifications.shown',
      summary: 'Reports notifications shown (socket or push): they are not pushed, nor shown again.',
      http: { method: 'POST', path: '/v1/notifications/shown' },
      auth: 'user',
      handler: async (ctx, p) => ({ updated: await markShown(ctx, ctx.caller.userId, p.ids) }),
    }),
    defineOperation({
      method: 'notifications.settings',
      summary: "The caller's muted notification types.",
      http: { method: 'GET', path: '/v1/notifications/settings' },
      auth: 'user',
      handler: async (ctx) => ({ muted: await mutedTypes(ctx, ctx.caller.userId) }),
    }),
    defineOperation({
      method: 'notifications.updateSettings',
      summary: "Replaces the caller's muted notification types.",
      http: { method: 'PUT', path: '/v1/notifications/settings' },
      auth: 'user',
      handler: async (ctx, p) => ({ muted: await setMutedTypes(ctx, ctx.caller.userId, p.muted) }),
    }),
  ],
  async start(ports) {
    const queue = await ports.openQueue<NotifyJob>('notifications', {
      maxAttempts: 10,
      backoffBaseMs: 200,
      backoffMaxMs: 30_000,
    });
    enqueueFromEvents(ports.events, queue, ports.now);
    const writes = new RecipientWrites(ports.config.notifications.writesAtOnce);
    const consumer = queue.consume((job) => runNotifyJob(ports, job.payload, writes), {
      concurrency: ports.config.notifications.concurrency,
      onDead: async (job, err) =>
        ports.log.error(
          { err, job: job.id, events: job.payload.events.map((e) => e.k) },
          'notification job failed for good: its notifications are not made',
        ),
    });
    const sweeper = startPushSweeper(ports);
    const retention = startRetentionSweep(ports);
    return {
      async stop() {
        await retention.stop();
        await sweeper.stop();
        await consumer.stop();
        await queue.close();
      },
    };
  },
  /** The account's own notifications, their ledger and settings, from its database. Others keep theirs (the list hides actors that are gone). */
  async onUserDeleted(ports, userId) {
    const sql = ports.db.forId(userId);
    await sql.query('DELETE FROM notifications WHERE recipient_id = $1', [userId]);
    await sql.query('DELETE FROM notification_sources WHERE recipient_id = $1', [userId]);
    await sql.query('DELETE FROM notification_users WHERE user_id = $1', [userId]);
  },
});
