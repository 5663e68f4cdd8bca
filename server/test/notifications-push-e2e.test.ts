import { createClient, createInbox, type Notification, type ShutterClient } from '@shutter/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ShutterNode } from '../src/node.js';
import { makePost } from './fixtures/likes.js';
import { http, makeUser, type TestUser } from './fixtures/social.js';
import { PushReceiver } from './helpers/push-receiver.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';
import { sleep, until } from './helpers/wait.js';

/**
 * The delivery ledger end to end, with nothing standing in: a like through
 * the likes capability, the notification written by its consumer, the push
 * clock, the real push outbox and its HTTP provider POSTing to a local
 * receiver (as a relay to APNs/FCM would be). With no socket of the
 * recipient showing it within NOTIFY_PUSH_AFTER_MS the receiver gets it
 * once; when the SDK's inbox shows it in time, the receiver gets nothing.
 */
const PUSH_AFTER_MS = 400;
let node: ShutterNode;
let receiver: PushReceiver;
const clients: ShutterClient[] = [];

beforeAll(async () => {
  receiver = await PushReceiver.start();
  node = await startTestNode('ws', {
    PUSH_PROVIDER: 'http',
    PUSH_HTTP_URL: receiver.url,
    NOTIFY_PUSH_AFTER_MS: String(PUSH_AFTER_MS),
    NOTIFY_SWEEP_MS: '200',
  });
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await node?.shutdown();
  await receiver?.close();
});

async function withDevice(u: TestUser): Promise<void> {
  const r = await http(node, u, 'PUT', `/v1/devices/dev-${u.id.slice(0, 8)}`, {
    platform: 'fcm',
    token: `fcm-token-${u.id}`,
  });
  expect(r.status).toBe(200);
}

/** `fan` likes a new post of `owner`; the notification's id once it is stored. */
async function likedBy(owner: TestUser, fan: TestUser): Promise<{ postId: string; notificationId: string }> {
  const postId = await makePost(node, owner);
  expect((await http(node, fan, 'PUT', `/v1/posts/${postId}/like`)).status).toBe(200);
  let notificationId = '';
  await until(
    async () => {
      const r = await http(node, owner, 'GET', '/v1/notifications');
      const item = (r.body.items as { id: string; type: string; postId?: string }[]).find(
        (n) => n.type === 'like' && n.postId === postId,
      );
      notificationId = item?.id ?? '';
      return notificationId !== '';
    },
    10_000,
    'the like notification stored',
  );
  return { postId, notificationId };
}

describe('notifications reach a person once, by socket or by push', () => {
  it('with no socket showing it, the push receiver gets it once, for the device, with its collapse key', async () => {
    const owner = await makeUser(node);
    const fan = await makeUser(node);
    await withDevice(owner);
    const { notificationId } = await likedBy(owner, fan);
    await receiver.until(() => receiver.of(notificationId).length === 1, 10_000, 'the push');
    await sleep(PUSH_AFTER_MS * 3);
    const pushes = receiver.of(notificationId);
    expect(pushes).toHaveLength(1);
    expect(JSON.stringify(pushes[0]!.body)).toContain(`fcm-token-${owner.id}`);
  });

  it("when the SDK's inbox shows it in time, no push leaves", async () => {
    const owner = await makeUser(node);
    const fan = await makeUser(node);
    await withDevice(owner);
    const client = createClient({
      url: wsUrl(node),
      getToken: () => devToken(node, owner.id),
      WebSocket: WebSocket as never,
    });
    clients.push(client);
    const shown: Notification[] = [];
    const inbox = createInbox(client, owner.id, (n) => shown.push(n));
    client.connect();
    await until(() => inbox.subscription.state === 'subscribed', 5000, 'subscribed');
    const { notificationId } = await likedBy(owner, fan);
    await until(() => shown.some((n) => n.id === notificationId), 5000, 'shown by the app');
    await sleep(PUSH_AFTER_MS * 3 + 500);
    expect(receiver.of(notificationId)).toEqual([]);
    expect(shown.filter((n) => n.id === notificationId)).toHaveLength(1);
  });
});
