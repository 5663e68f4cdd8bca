import { type InboxEvent, inboxStream } from '@shutter/protocol';
import type { BatchEvent } from '../../streams/publisher.js';
import type { CapabilityPorts } from '../operation.js';
import { filterAdds } from './filter.js';
import type { NotifyEvent, NotifyJob } from './jobs.js';
import { type Plan, planEvent } from './plan.js';
import type { RecipientWrites } from './recipient-writes.js';
import { toWire } from './render.js';
import { type Share, unreadIn, type WriteResult, writeForRecipient } from './writer.js';

/**
 * Runs one notification job (one or more domain events), outside any
 * request: what each event means for whom (`planEvent`), who must not hear
 * of it (`filterAdds`), then ONE transaction per recipient in the
 * recipient's database with that recipient's share of every event, in
 * event order (`writeForRecipient`; recipients at once, as `writes`
 * lets them: `recipient-writes.ts`), then the changes
 * live on each recipient's inbox stream.
 *
 * Idempotent, as a job must be: a second run finds every key already
 * applied and changes nothing. A crash between a commit and the live
 * publish loses only the live event: the notification is stored, counted
 * and on its push clock, so the ledger pushes it unless a client lists it
 * and reports it shown first.
 */
export async function runNotifyJob(
  ports: CapabilityPorts,
  job: NotifyJob,
  writes: RecipientWrites,
): Promise<void> {
  const plans = await Promise.all(job.events.map((e) => planEvent(ports.db, e)));
  const results: WriteResult[] = [];
  const byRecipient = new Map<string, Share[]>();
  for (const [i, plan] of plans.entries()) {
    if (plan.scanKeys.length) await addHolders(ports, plan);
    if (plan.deletedPost) results.push(...(await deletePostNotifications(ports, plan.deletedPost)));
    const at = (job.events[i] as NotifyEvent).at;
    for (const work of plan.work)
      byRecipient.set(work.recipient, [...(byRecipient.get(work.recipient) ?? []), { work, at }]);
  }
  await filterAdds(
    ports.db,
    plans.flatMap((p) => p.work),
  );
  const n = ports.config.notifications;
  const settings = { pushAfterMs: n.pushAfterMs, livePerMinute: n.livePerMinute };
  const written = await Promise.all(
    [...byRecipient].map(([recipient, shares]) => {
      const todo = shares.filter((s) => s.work.adds.length || s.work.withdraws.length || s.work.dropActor);
      return todo.length
        ? writes.run(recipient, () =>
            writeForRecipient(ports.db.forId(recipient), recipient, todo, ports.now(), settings),
          )
        : undefined;
    }),
  );
  for (const r of written) if (r) results.push(r);
  await publishResults(ports, results);
}

/** The recipients of withdrawn keys nobody named (a deleted comment's reply and mentions): one query per database. */
async function addHolders(ports: CapabilityPorts, plan: Plan): Promise<void> {
  for (const sql of ports.db.all) {
    const r = await sql.query<{ recipient_id: string; event_key: string; actor_id: string }>(
      `SELECT recipient_id::text AS recipient_id, event_key, actor_id::text AS actor_id
         FROM notification_sources WHERE event_key = ANY($1::text[])`,
      [plan.scanKeys],
    );
    for (const s of r.rows) {
      let w = plan.work.find((x) => x.recipient === s.recipient_id);
      if (!w) plan.work.push((w = { recipient: s.recipient_id, adds: [], withdraws: [] }));
      if (!w.withdraws.some((x) => x.key === s.event_key))
        w.withdraws.push({ key: s.event_key, actor: s.actor_id });
    }
  }
}

/** A deleted post: its notifications nobody has seen yet go, for every recipient (one statement per database). */
async function deletePostNotifications(ports: CapabilityPorts, postId: string): Promise<WriteResult[]> {
  const removed = new Map<string, string[]>();
  for (const sql of ports.db.all) {
    const r = await sql.query<{ id: string; recipient_id: string }>(
      `DELETE FROM notifications
        WHERE post_id = $1 AND read_at IS NULL AND shown_at IS NULL AND pushed_at IS NULL
        RETURNING id::text AS id, recipient_id::text AS recipient_id`,
      [postId],
    );
    for (const x of r.rows) removed.set(x.recipient_id, [...(removed.get(x.recipient_id) ?? []), x.id]);
  }
  return Promise.all(
    [...removed].map(async ([recipient, ids]) => ({
      recipient,
      live: [],
      removed: ids,
      unreadCount: await unreadIn(ports.db.forId(recipient), recipient),
    })),
  );
}

/**
 * Sends what the transactions changed to each recipient's `user:<id>:inbox`,
 * in one batch (one history round trip; a recipient's events leave their
 * sockets in one write), the actors read once for all of them.
 */
export async function publishResults(ports: CapabilityPorts, results: readonly WriteResult[]): Promise<void> {
  if (results.length === 0) return;
  const wire = new Map(
    (
      await toWire(
        ports.db,
        results.flatMap((r) => r.live),
      )
    ).map((n) => [n.id, n]),
  );
  const events: BatchEvent[] = [];
  for (const r of results) {
    const stream = inboxStream(r.recipient);
    const unreadCount = r.unreadCount;
    for (const row of r.live) {
      const notification = wire.get(row.id);
      if (notification) events.push({ stream, data: { type: 'notification', notification, unreadCount } });
    }
    for (const id of r.removed)
      events.push({ stream, data: { type: 'notification.removed', id, unreadCount } satisfies InboxEvent });
  }
  if (events.length) await ports.streams.publishBatch(events);
}
