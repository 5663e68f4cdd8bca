import { createClient, createInbox, type Notification } from '@shutter/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ShutterNode } from '../src/node.js';
import { PgSql } from '../src/sql/index.js';
import { makeUser, makeUsers, type TestUser } from './fixtures/social.js';
import { NotifyWorld, RecordingOutbox, until } from './helpers/notify-world.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';
import { postgresUrl, postgresUrlB, uniqueName } from './services.js';

// The delivery ledger (issue 10 §5) and the live budget: a notification no
// socket reports shown within NOTIFY_PUSH_AFTER_MS goes to the push port
// once; one a socket showed in time never does; the clock survives a
// restart; beyond NOTIFY_LIVE_PER_MINUTE a recipient's notifications are
// stored but neither live nor pushed. The push port is a recording outbox
// put in the node's ports (the push capability's real outbox is elsewhere).
const PUSH_AFTER_MS = 400;

describe('the delivery ledger', () => {
  let node: ShutterNode;
  let w: NotifyWorld;
  const outbox = new RecordingOutbox();
  beforeAll(async () => {
    node = await startTestNode('ws', {
      NOTIFY_PUSH_AFTER_MS: String(PUSH_AFTER_MS),
      NOTIFY_SWEEP_MS: '50',
      NOTIFY_LIVE_PER_MINUTE: '3',
    });
    node.ports.push = outbox;
    w = new NotifyWorld(node);
  });
  afterAll(async () => {
    w?.close();
    await node?.shutdown();
  });

  const follow = async (fan: TestUser, me: TestUser): Promise<string> => {
    await w.ok(fan, 'PUT', `/v1/users/${me.id}/follow`);
    await w.settled();
    const page = await w.list(me);
    return page.items[0].id;
  };

  it('with the socket silent, the push port gets it once, then never again', async () => {
    const [me, fan] = (await makeUsers(node, 2)) as [TestUser, TestUser];
    const silent = await w.inbox(me); // subscribed, but reports nothing shown
    const id = await follow(fan, me);
    await until(() => silent.notifications().length === 1, 5000, 'live');
    await until(() => outbox.of(id).length > 0, 5000, 'pushed');
    await new Promise((r) => setTimeout(r, PUSH_AFTER_MS + 300));
    expect(outbox.of(id)).toEqual([
      {
        notificationId: id,
        userId: me.id,
        body: `${fan.username} started following you`,
        collapseKey: id,
        badge: 1,
        data: { type: 'follow' },
      },
    ]);
    // Pushed is seen: the list says so, and it takes no more actors.
    expect((await w.list(me)).items[0]).toMatchObject({ id, seen: true, read: false });
    const pushedAt = await node.db
      .forId(me.id)
      .query<{ due: string | null }>('SELECT push_due_at AS due FROM notifications WHERE id = $1', [id]);
    expect(pushedAt.rows).toEqual([{ due: null }]);

    // The app showed it from the push and says so: the pushes still waiting for it are cancelled.
    expect(await w.ok(me, 'POST', '/v1/notifications/shown', { ids: [id] })).toEqual({ updated: 1 });
    expect(outbox.cancelled).toContain(id);
  });

  it('a socket that shows it in time (the SDK inbox) means no push', async () => {
    const [me, fan] = (await makeUsers(node, 2)) as [TestUser, TestUser];
    const client = createClient({
      url: wsUrl(node),
      getToken: () => devToken(node, me.id),
      WebSocket: WebSocket as never,
    });
    w.clients.push(client);
    const shown: Notification[] = [];
    const inbox = createInbox(client, me.id, (n) => shown.push(n));
    client.connect();
    await until(() => inbox.subscription.state === 'subscribed', 5000, 'subscribed');
    const id = await follow(fan, me);
    await until(() => shown.length === 1, 5000, 'shown by the app');
    await new Promise((r) => setTimeout(r, PUSH_AFTER_MS * 2 + 300));
    expect(shown.map((n) => n.id)).toEqual([id]);
    expect(outbox.of(id)).toEqual([]);
    expect((await w.list(me)).items[0]).toMatchObject({ id, seen: true, read: false });
  });

  it('beyond NOTIFY_LIVE_PER_MINUTE: stored and counted, neither live nor pushed', async () => {
    const me = await makeUser(node);
    const fans = await makeUsers(node, 5);
    const socket = await w.inbox(me);
    for (const fan of fans) await w.ok(fan, 'PUT', `/v1/users/${me.id}/follow`);
    await w.settled();
    const page = await w.list(me);
    expect([page.items.length, page.unreadCount]).toEqual([5, 5]);
    await until(() => socket.notifications().length === 3, 5000, 'three live');
    const live = socket.notifications().map((n) => n.id);
    await until(() => live.every((id) => outbox.of(id).length === 1), 5000, 'the live ones pushed');
    await new Promise((r) => setTimeout(r, PUSH_AFTER_MS + 300));
    expect(socket.notifications()).toHaveLength(3);
    const quiet = page.items.map((n: { id: string }) => n.id).filter((id: string) => !live.includes(id));
    expect(quiet).toHaveLength(2);
    for (const id of quiet) expect(outbox.of(id)).toEqual([]);
    for (const id of live) expect(outbox.of(id)).toHaveLength(1);
  });

  it('a burst of likes folded in one job takes one live event, not one per like', async () => {
    const me = await makeUser(node);
    const [fan, other] = (await makeUsers(node, 2)) as [TestUser, TestUser];
    const likers = await makeUsers(node, 10);
    const socket = await w.inbox(me);
    const post = await w.post(me);
    // Ten group commits at once: the first is enqueued alone, the nine that came meanwhile as one job.
    await Promise.all(likers.map((l) => w.like(post, [l.id])));
    await w.settled();
    expect((await w.list(me)).items.map((n: { count: number }) => n.count)).toEqual([10]);
    await until(() => socket.notifications().length === 2, 5000, 'two live like events');
    await w.ok(fan, 'PUT', `/v1/users/${me.id}/follow`);
    await w.settled();
    await w.ok(other, 'PUT', `/v1/users/${me.id}/follow`);
    await w.settled();
    await until(() => socket.notifications().length === 3, 5000, 'the third live event');
    await new Promise((r) => setTimeout(r, 300));
    expect(socket.notifications().map((n) => [n.type, n.count])).toEqual([
      ['like', 1],
      ['like', 10],
      ['follow', 1],
    ]);
    expect((await w.list(me)).unreadCount).toBe(3);
  });
});

describe('the push clock across a restart', () => {
  const namespace = uniqueName('ntfr').toLowerCase().slice(0, 32);
  const env = { NAMESPACE: namespace, NOTIFY_PUSH_AFTER_MS: '3000', NOTIFY_SWEEP_MS: '50' };
  let second: ShutterNode | undefined;
  afterAll(async () => {
    await second?.shutdown();
    for (const url of [postgresUrl, postgresUrlB]) {
      const admin = new PgSql(url, 'public', 1);
      await admin.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
      await admin.close();
    }
  });

  it('a notification due while its node is down is pushed by the node that sweeps next', async () => {
    const first = await startTestNode('ws', env);
    const before = new RecordingOutbox();
    first.ports.push = before;
    const w = new NotifyWorld(first);
    const [me, fan] = (await makeUsers(first, 2)) as [TestUser, TestUser];
    await w.ok(fan, 'PUT', `/v1/users/${me.id}/follow`);
    await w.settled();
    const [n] = (await w.list(me)).items;
    await first.shutdown();
    expect(Date.now() - n.createdAt).toBeLessThan(2500); // stopped well before it was due

    second = await startTestNode('ws', env);
    const after = new RecordingOutbox();
    second.ports.push = after;
    await until(() => after.of(n.id).length === 1, 10_000, 'pushed by the restarted node');
    expect(Date.now() - n.createdAt).toBeGreaterThanOrEqual(3000);
    expect(before.enqueued).toEqual([]);
  });
});
