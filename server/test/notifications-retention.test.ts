import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_BATCH, sweepRetention } from '../src/capabilities/notifications/retention.js';
import type { ShutterNode } from '../src/node.js';
import { makeUser, makeUsers, shardIn } from './fixtures/social.js';
import { NotifyWorld } from './helpers/notify-world.js';
import { startTestNode } from './helpers/test-node.js';

const DAY_MS = 86_400_000;

/**
 * NOTIFY_RETENTION_DAYS: notifications not updated for that long and the
 * dedup entries of events that old are deleted in batches, and nothing
 * younger is touched. Before, both tables grew for ever (the ledger keeps
 * one row per like a user ever received).
 */
let node: ShutterNode;
let w: NotifyWorld;
beforeAll(async () => {
  node = await startTestNode('ws', { NOTIFY_PUSH_AFTER_MS: '600000', NOTIFY_LIVE_PER_MINUTE: '100000' });
  w = new NotifyWorld(node);
});
afterAll(async () => {
  w?.close();
  await node?.shutdown();
});

describe('notification retention', () => {
  it('deletes what is older than the retention in batches, keeps the rest, and an old like notifies again', async () => {
    const author = await makeUser(node, { shard: shardIn(node, 1) });
    const sql = node.db.forId(author.id);
    const likers = await makeUsers(node, RETENTION_BATCH + 5);
    const post = await w.post(author);
    // More than one batch of old ledger entries, folded into one notification.
    await w.like(
      post,
      likers.map((u) => u.id),
    );
    await w.settled();
    const count = async (table: string) =>
      (
        await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE recipient_id = $1`, [
          author.id,
        ])
      ).rows[0]?.n;
    expect(await count('notification_sources')).toBe(likers.length);
    expect(await count('notifications')).toBe(1);

    // All of it 100 days old, then one fresh like.
    const old = Date.now() - 100 * DAY_MS;
    await sql.query('UPDATE notifications SET updated_at = $2, created_at = $2 WHERE recipient_id = $1', [
      author.id,
      old,
    ]);
    await sql.query('UPDATE notification_sources SET changed_at = $2 WHERE recipient_id = $1', [
      author.id,
      old,
    ]);
    await sql.query('UPDATE notifications SET read_at = $2 WHERE recipient_id = $1', [author.id, old]);
    const [fresh] = await makeUsers(node, 1);
    await w.like(post, [fresh!.id]);
    await w.settled();
    expect(await count('notifications')).toBe(2);

    const gone = await sweepRetention(sql, Date.now() - 90 * DAY_MS);
    expect(gone.notifications).toBeGreaterThanOrEqual(1);
    expect(gone.sources).toBeGreaterThanOrEqual(likers.length);
    expect(await count('notification_sources')).toBe(1);
    const left = await w.list(author);
    expect(left.items.map((n: { actors: { id: string }[] }) => n.actors.map((a) => a.id))).toEqual([
      [fresh!.id],
    ]);

    // The first liker's entry went with the retention: liking again (after an unlike) notifies again.
    await w.like(post, [], [likers[0]!.id]);
    await w.like(post, [likers[0]!.id]);
    await w.settled();
    const again = await w.list(author);
    expect(again.items[0].actors.map((a: { id: string }) => a.id)).toContain(likers[0]!.id);
    // A second sweep finds nothing more to delete.
    expect(await sweepRetention(sql, Date.now() - 90 * DAY_MS)).toEqual({ notifications: 0, sources: 0 });
  });
});
