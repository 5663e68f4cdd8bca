import { createClient, createInbox, type Notification, type ShutterClient } from '@shutter/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ShutterNode } from '../src/node.js';
import { makeUser, makeUsers, type TestUser } from './fixtures/social.js';
import { NotifyWorld, RecordingOutbox, until } from './helpers/notify-world.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';

// The SDK's inbox against a real node: what arrived while the user was
// away is shown on return, in order, each once, and reported shown (so it
// is not pushed); a later session shows none of it again.
let node: ShutterNode;
let w: NotifyWorld;
const outbox = new RecordingOutbox();

beforeAll(async () => {
  node = await startTestNode('uws', { NOTIFY_PUSH_AFTER_MS: '1500', NOTIFY_SWEEP_MS: '50' });
  node.ports.push = outbox;
  w = new NotifyWorld(node);
});
afterAll(async () => {
  w?.close();
  await node?.shutdown();
});

function session(user: TestUser): ShutterClient {
  const client = createClient({
    url: wsUrl(node),
    getToken: () => devToken(node, user.id),
    WebSocket: WebSocket as never,
  });
  w.clients.push(client);
  return client;
}

describe('the SDK inbox', () => {
  it('an offline user finds them on return, in order; each is shown once and not pushed', async () => {
    const me = await makeUser(node);
    const [fan, liker, commenter, poster] = (await makeUsers(node, 4)) as [
      TestUser,
      TestUser,
      TestUser,
      TestUser,
    ];
    const post = await w.post(me);
    // While away (no socket), one after the other.
    await w.ok(fan, 'PUT', `/v1/users/${me.id}/follow`);
    await w.settled();
    await w.like(post, [liker.id]);
    await w.settled();
    await w.comment(post, commenter.id, 'what a sky');
    await w.settled();
    await w.post(poster, `look @${me.username}`);
    await w.settled();

    const client = session(me);
    const shown: Notification[] = [];
    const inbox = createInbox(client, me.id, (n) => shown.push(n));
    client.connect();
    await until(() => shown.length === 4, 5000, 'the four shown on return');
    expect(shown.map((n) => n.text)).toEqual([
      `${fan.username} started following you`,
      `${liker.username} liked your photo`,
      `${commenter.username} commented: what a sky`,
      `${poster.username} mentioned you in a post`,
    ]);
    // Reported shown (over the socket: the same operation as HTTP): seen, still unread, never pushed.
    await until(
      async () => (await client.api.notifications.list({})).items.every((n) => n.seen),
      5000,
      'reported shown',
    );
    expect((await client.api.notifications.unread({})).unreadCount).toBe(4);

    // One arrives live while the app is open.
    const late = (await makeUsers(node, 1))[0] as TestUser;
    await w.ok(late, 'PUT', `/v1/users/${me.id}/follow`);
    await until(() => shown.length === 5, 5000, 'the live one');
    await new Promise((r) => setTimeout(r, 2000)); // past NOTIFY_PUSH_AFTER_MS
    const ids = shown.map((n) => n.id);
    expect(outbox.enqueued.filter((p) => ids.includes(p.notificationId))).toEqual([]);
    expect(inbox.subscription.state).toBe('subscribed');

    // A later session (the app restarted): nothing is shown twice.
    client.disconnect();
    const again = session(me);
    const shownAgain: Notification[] = [];
    const second = createInbox(again, me.id, (n) => shownAgain.push(n));
    again.connect();
    await until(() => second.subscription.state === 'subscribed', 5000, 'second session subscribed');
    await new Promise((r) => setTimeout(r, 300));
    expect(shownAgain).toEqual([]);
  });
});
