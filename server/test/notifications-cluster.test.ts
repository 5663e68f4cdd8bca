import { createClient, createInbox, type Notification, type ShutterClient } from '@shutter/client-sdk';
import { newId, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { keyShard } from '../src/storage/databases.js';
import { DomainCluster } from './helpers/domain-cluster.js';
import type { NodeProcess } from './helpers/node-process.js';
import { until } from './helpers/notify-world.js';

// Notifications on a cluster of two node processes (JetStream job queue,
// Redis stream history, NATS bus, two physical databases): a follow and a
// caption mention made through one node reach the recipient's socket on
// the other node, stored in the recipient's database only, each shown once.
const cluster = new DomainCluster('ntfc', { NOTIFY_PUSH_AFTER_MS: '600000' });
const clients: ShutterClient[] = [];

interface Person {
  id: string;
  username: string;
  token: string;
}

let made = 0;
/** A user on the given logical shard: rows written straight into its databases, a token from the cluster's key. */
async function person(shard: number): Promise<Person> {
  const id = newId(shard);
  const username = `nc${Date.now().toString(36)}_${made++}`;
  await cluster
    .dbOf(id)
    .query('INSERT INTO users (id, username, display_name) VALUES ($1, $2, $2)', [id, username]);
  const names = keyShard(username) < 512 ? cluster.dbA : cluster.dbB;
  await names.query('INSERT INTO usernames (name, user_id) VALUES ($1, $2)', [username, id]);
  return { id, username, token: (await cluster.minter.mint(id, 600)).token };
}

async function call(node: NodeProcess, method: string, path: string, who: Person, body?: unknown) {
  const r = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${who.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field.
  return JSON.parse(text) as any;
}

beforeAll(async () => {
  await cluster.start(2);
}, 60_000);
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await cluster.teardown();
}, 60_000);

describe('notifications on a cluster', () => {
  it('a follow and a mention made on one node reach the recipient on the other, stored on its shard', async () => {
    const [a, b] = cluster.nodes as [NodeProcess, NodeProcess];
    const me = await person(900); // the second database
    const [fan, poster] = [await person(10), await person(20)]; // the first

    const client = createClient({
      url: b.wsUrl,
      getToken: async () => (await cluster.minter.mint(me.id, 600)).token,
      WebSocket: WebSocket as never,
    });
    clients.push(client);
    const shown: Notification[] = [];
    const inbox = createInbox(client, me.id, (n) => shown.push(n));
    client.connect();
    await until(() => inbox.subscription.state === 'subscribed', 10_000, 'subscribed on node b');

    await call(a, 'PUT', `/v1/users/${me.id}/follow`, fan);
    await until(() => shown.length === 1, 10_000, 'the follow on node b');
    const mediaId = `nc-${newId(0)}`;
    await cluster.dbA.query(
      `INSERT INTO media_items (id, owner_id, status, original_key, original_bytes, declared_type, format, width, height, variants, ready_at)
       VALUES ($1, $2, 'ready', 'originals/x', 1, 'image/jpeg', 'jpeg', 10, 10, '[]', now())`,
      [mediaId, poster.id],
    );
    const postId = newId(shardOfId(poster.id) ?? 0);
    await call(a, 'POST', '/v1/posts', poster, {
      id: postId,
      mediaIds: [mediaId],
      caption: `hi @${me.username}`,
    });
    await until(() => shown.length === 2, 10_000, 'the mention on node b');
    expect(shown.map((n) => [n.type, n.text])).toEqual([
      ['follow', `${fan.username} started following you`],
      ['mention', `${poster.username} mentioned you in a post`],
    ]);

    const rows = async (db: typeof cluster.dbA) =>
      (
        await db.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM notifications WHERE recipient_id = $1',
          [me.id],
        )
      ).rows[0]?.n;
    expect([await rows(cluster.dbA), await rows(cluster.dbB)]).toEqual([0, 2]);
    await until(
      async () => (await call(a, 'GET', '/v1/notifications', me)).items.every((n: Notification) => n.seen),
      10_000,
      'reported shown through node b, read through node a',
    );
    const page = await call(a, 'GET', '/v1/notifications', me);
    expect([page.items.length, page.unreadCount]).toEqual([2, 2]);
    expect(shown).toHaveLength(2);
  });
});
