import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PushNotification } from '../src/capabilities/push-outbox.js';
import type { ShutterNode } from '../src/node.js';
import { http, makeUser, shardIn, type TestUser } from './fixtures/social.js';
import { type PushAnswer, PushReceiver, type ReceivedPush } from './helpers/push-receiver.js';
import { startTestNode } from './helpers/test-node.js';

/**
 * The push outbox end to end on a real node on two databases, its HTTP
 * provider POSTing to a local receiver: one push per device with the
 * platform's shape, retries with backoff (and Retry-After), dead letters
 * and their operator routes, token invalidation, and cancel. PUSH_POLL_MS is
 * a minute here, so every push below leaves through the node's own wake-ups
 * (its enqueues, its retries' due times); the poll is the two-node test's.
 */
let node: ShutterNode;
let receiver: PushReceiver;
const BASE = 200;

beforeAll(async () => {
  receiver = await PushReceiver.start();
  node = await startTestNode('ws', {
    PUSH_PROVIDER: 'http',
    PUSH_HTTP_URL: receiver.url,
    PUSH_HTTP_TOKEN: 'relay-secret',
    PUSH_BACKOFF_BASE_MS: String(BASE),
    PUSH_BACKOFF_MAX_MS: '800',
    PUSH_MAX_ATTEMPTS: '3',
    PUSH_HTTP_TIMEOUT_MS: '2000',
    PUSH_LEASE_MS: '5000',
    PUSH_POLL_MS: '60000',
  });
});
afterAll(async () => {
  await node?.shutdown();
  await receiver?.close();
});

/** Answers by notification: the script's n-th entry for its n-th push, 200 after the script. */
function script(answers: Record<string, PushAnswer[]>): void {
  const seen = new Map<string, number>();
  receiver.answer = (p) => {
    const id = p.body.notificationId as string;
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    return answers[id]?.[n] ?? { status: 200, body: {} };
  };
}

const apnsToken = () => randomBytes(32).toString('hex');
const fcmToken = () => `fcm-${randomBytes(24).toString('base64url')}`;
let seq = 0;
const nid = (tag: string) => `${tag}-${Date.now().toString(36)}-${seq++}`;

async function device(u: TestUser, id: string, body: Record<string, string>): Promise<void> {
  const r = await http(node, u, 'PUT', `/v1/devices/${id}`, body);
  expect(r.status).toBe(200);
}

async function rowsOf(u: TestUser, notificationId: string) {
  const r = await node.db
    .forId(u.id)
    .query<{ device_id: string; state: string; attempts: number; last_error: string | null }>(
      `SELECT device_id, state, attempts, last_error FROM push_outbox
       WHERE user_id = $1 AND notification_id = $2 ORDER BY device_id`,
      [u.id, notificationId],
    );
  return r.rows;
}

/** A counter of the node's /metrics (summed over label sets). */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`)) sum += Number(line.split(' ').pop());
  return sum;
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const enqueue = (...items: PushNotification[]) => node.ports.push.enqueue(items);
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));
const gaps = (ps: ReceivedPush[]) => ps.slice(1).map((p, i) => p.at - (ps[i] as ReceivedPush).at);

describe('push outbox over HTTP', () => {
  it('sends each device of the user the push once, shaped for APNs and FCM, with collapse key and badge', async () => {
    script({});
    const sentBefore = await metric('shutter_push_sent_total');
    const alice = await makeUser(node, { shard: shardIn(node, 0) });
    const bob = await makeUser(node, { shard: shardIn(node, 1) });
    const nobody = await makeUser(node);
    const iosToken = apnsToken();
    const androidToken = fcmToken();
    await device(alice, 'ios', { platform: 'apns', token: iosToken, appId: 'com.example.shutter' });
    await device(alice, 'android', { platform: 'fcm', token: androidToken, locale: 'de' });
    await device(bob, 'ios', { platform: 'apns', token: apnsToken() });
    const n1 = nid('like');
    const n2 = nid('follow');
    await enqueue(
      {
        notificationId: n1,
        userId: alice.id,
        title: 'Shutter',
        body: 'bob liked your photo',
        collapseKey: 'like:p1',
        badge: 4,
        data: { postId: 'p1' },
      },
      { notificationId: n2, userId: bob.id, body: 'alice follows you' },
      { notificationId: nid('none'), userId: nobody.id, body: 'no device: nothing to send' },
    );
    await receiver.until(() => receiver.of(n1).length === 2 && receiver.of(n2).length === 1);
    // Enqueued again (a retried notification): the rows exist, nothing more is sent.
    await enqueue({ notificationId: n1, userId: alice.id, body: 'bob liked your photo' });
    await settle();
    expect(receiver.of(n1)).toHaveLength(2);
    expect(receiver.of(n2)).toHaveLength(1);

    const ios = receiver.of(n1).find((p) => p.body.platform === 'apns') as ReceivedPush;
    expect(ios.headers.authorization).toBe('Bearer relay-secret');
    expect(ios.body).toEqual({
      platform: 'apns',
      token: iosToken,
      notificationId: n1,
      headers: {
        'apns-push-type': 'alert',
        'apns-priority': '10',
        'apns-topic': 'com.example.shutter',
        'apns-collapse-id': 'like:p1',
      },
      payload: {
        aps: { alert: { title: 'Shutter', body: 'bob liked your photo' }, badge: 4, sound: 'default' },
        postId: 'p1',
        notificationId: n1,
      },
    });
    const android = receiver.of(n1).find((p) => p.body.platform === 'fcm') as ReceivedPush;
    expect(android.body.message).toEqual({
      token: androidToken,
      notification: { title: 'Shutter', body: 'bob liked your photo' },
      data: { postId: 'p1', notificationId: n1 },
      android: { collapse_key: 'like:p1', notification: { notification_count: 4 } },
    });
    expect(receiver.of(n2)[0]?.body.payload).toEqual({
      aps: { alert: { body: 'alice follows you' }, sound: 'default' },
      notificationId: n2,
    });
    expect((await rowsOf(alice, n1)).map((r) => [r.device_id, r.state, r.attempts])).toEqual([
      ['android', 'sent', 1],
      ['ios', 'sent', 1],
    ]);
    expect((await rowsOf(bob, n2)).map((r) => r.state)).toEqual(['sent']);
    expect(await metric('shutter_push_sent_total')).toBe(sentBefore + 3);
  });

  it('retries a 500 and a 429 with backoff, honouring Retry-After, then sends', async () => {
    const alice = await makeUser(node);
    await device(alice, 'ios', { platform: 'apns', token: apnsToken() });
    const n = nid('retry');
    script({
      [n]: [
        { status: 500, body: { reason: 'InternalServerError' } },
        { status: 429, headers: { 'retry-after': '1' }, body: { reason: 'TooManyRequests' } },
      ],
    });
    const retriedBefore = await metric('shutter_push_retried_total');
    await enqueue({ notificationId: n, userId: alice.id, body: 'again' });
    await receiver.until(() => receiver.of(n).length === 3, 10_000);
    const [afterFirst, afterSecond] = gaps(receiver.of(n));
    // First wait: BASE taken in [BASE/2, BASE]; second: the 1 s Retry-After beats 2·BASE.
    expect(afterFirst).toBeGreaterThanOrEqual(BASE / 2 - 5);
    expect(afterFirst).toBeLessThan(BASE + 300);
    expect(afterSecond).toBeGreaterThanOrEqual(1000 - 5);
    expect(afterSecond).toBeLessThan(1000 + 500);
    await settle();
    expect(receiver.of(n)).toHaveLength(3);
    const [row] = await rowsOf(alice, n);
    expect(row).toMatchObject({ state: 'sent', attempts: 3 });
    expect(row?.last_error).toContain('429');
    expect(await metric('shutter_push_retried_total')).toBe(retriedBefore + 2);
  });

  it('a provider that does not answer within PUSH_HTTP_TIMEOUT_MS is retried', async () => {
    const alice = await makeUser(node);
    await device(alice, 'ios', { platform: 'apns', token: apnsToken() });
    const n = nid('timeout');
    script({ [n]: ['hold'] });
    await enqueue({ notificationId: n, userId: alice.id, body: 'slow' });
    await receiver.until(() => receiver.of(n).length === 2, 10_000);
    const [gap] = gaps(receiver.of(n));
    // The 2 s timeout, then a backoff in [BASE/2, BASE].
    expect(gap).toBeGreaterThanOrEqual(2000 + BASE / 2 - 5);
    await until(async () => (await rowsOf(alice, n))[0]?.state === 'sent');
    expect((await rowsOf(alice, n))[0]).toMatchObject({
      attempts: 2,
      last_error: expect.stringMatching(/abort|timeout/i),
    });
    receiver.dropHeld();
  });

  it('a push failing every attempt goes dead: kept, counted, listed for operators, and sent when they retry it', async () => {
    const alice = await makeUser(node);
    await device(alice, 'ios', { platform: 'apns', token: apnsToken() });
    const n = nid('dead');
    const refused = nid('refused');
    const down: PushAnswer = { status: 503, body: { reason: 'ServiceUnavailable' } };
    script({ [n]: [down, down, down], [refused]: [{ status: 400, body: { reason: 'PayloadTooLarge' } }] });
    const deadBefore = await metric('shutter_push_dead_total');
    await enqueue(
      { notificationId: n, userId: alice.id, body: 'never' },
      { notificationId: refused, userId: alice.id, body: 'no' },
    );
    await receiver.until(() => receiver.of(n).length === 3 && receiver.of(refused).length === 1);
    await settle(1200);
    expect(receiver.of(n)).toHaveLength(3);
    expect(receiver.of(refused)).toHaveLength(1);
    expect(await rowsOf(alice, n)).toEqual([
      { device_id: 'ios', state: 'dead', attempts: 3, last_error: expect.stringContaining('503') },
    ]);
    expect(await rowsOf(alice, refused)).toEqual([
      {
        device_id: 'ios',
        state: 'dead',
        attempts: 1,
        last_error: expect.stringContaining('PayloadTooLarge'),
      },
    ]);
    expect(await metric('shutter_push_dead_total')).toBe(deadBefore + 2);

    const listed = await fetch(`${node.url}/v1/admin/push/dead?limit=500`);
    const items = ((await listed.json()) as { items: { notificationId: string }[] }).items;
    expect(items.filter((d) => d.notificationId === n || d.notificationId === refused)).toHaveLength(2);
    expect(items.find((d) => d.notificationId === n)).toMatchObject({
      userId: alice.id,
      deviceId: 'ios',
      attempts: 3,
      deadAt: expect.any(Number),
    });
    const bad = await fetch(`${node.url}/v1/admin/push/dead?limit=0`);
    expect(bad.status).toBe(400);

    const retry = await fetch(`${node.url}/v1/admin/push/retry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ notificationIds: [n] }),
    });
    expect(await retry.json()).toEqual({ requeued: 1 });
    await receiver.until(() => receiver.of(n).length === 4);
    await settle();
    expect(await rowsOf(alice, n)).toMatchObject([{ state: 'sent', attempts: 1 }]);
    expect(await rowsOf(alice, refused)).toMatchObject([{ state: 'dead' }]);
  });

  it('a token the provider says is gone (410, or an UNREGISTERED body) is removed and never tried again', async () => {
    const alice = await makeUser(node);
    const stale = apnsToken();
    const staleFcm = fcmToken();
    const good = apnsToken();
    await device(alice, 'old-iphone', { platform: 'apns', token: stale });
    await device(alice, 'old-pixel', { platform: 'fcm', token: staleFcm });
    await device(alice, 'new-iphone', { platform: 'apns', token: good });
    const goneBefore = await metric('shutter_push_gone_total');
    receiver.answer = (p) => {
      if (p.body.token === stale) return { status: 410, body: { reason: 'Unregistered' } };
      if (p.body.token === staleFcm)
        return {
          status: 404,
          body: { error: { status: 'NOT_FOUND', details: [{ errorCode: 'UNREGISTERED' }] } },
        };
      return { status: 200, body: {} };
    };
    const first = nid('gone');
    await enqueue({ notificationId: first, userId: alice.id, body: 'one' });
    await receiver.until(() => receiver.of(first).length === 3);
    await settle();
    expect((await rowsOf(alice, first)).map((r) => [r.device_id, r.state])).toEqual([
      ['new-iphone', 'sent'],
      ['old-iphone', 'dropped'],
      ['old-pixel', 'dropped'],
    ]);
    const devices = (await http(node, alice, 'GET', '/v1/devices')).body.items;
    expect(devices.map((d: { id: string }) => d.id)).toEqual(['new-iphone']);
    const claims = await node.db.forKey(stale).query('SELECT 1 FROM push_tokens WHERE token = $1', [stale]);
    expect(claims.rows).toEqual([]);
    expect(await metric('shutter_push_gone_total')).toBe(goneBefore + 2);

    const second = nid('after-gone');
    await enqueue({ notificationId: second, userId: alice.id, body: 'two' });
    await receiver.until(() => receiver.of(second).length === 1);
    await settle();
    expect(receiver.of(second).map((p) => p.body.token)).toEqual([good]);
    expect(receiver.received.filter((p) => p.body.token === stale || p.body.token === staleFcm)).toHaveLength(
      2,
    );
  });

  it('a gone answer for a token the app has replaced meanwhile keeps the new token', async () => {
    const alice = await makeUser(node);
    const oldToken = fcmToken();
    const newToken = fcmToken();
    await device(alice, 'pixel', { platform: 'fcm', token: oldToken });
    let answerGone!: () => void;
    const gate = new Promise<void>((r) => {
      answerGone = r;
    });
    receiver.answer = async (p) => {
      if (p.body.token !== oldToken) return { status: 200, body: {} };
      await gate;
      return { status: 410, body: {} };
    };
    const n = nid('refresh-race');
    await enqueue({ notificationId: n, userId: alice.id, body: 'x' });
    await receiver.until(() => receiver.of(n).length === 1);
    await device(alice, 'pixel', { platform: 'fcm', token: newToken });
    answerGone();
    await until(async () => (await rowsOf(alice, n))[0]?.state === 'dropped');
    const devices = (await http(node, alice, 'GET', '/v1/devices')).body.items;
    expect(devices.map((d: { id: string; token: string }) => [d.id, d.token])).toEqual([['pixel', newToken]]);
    const next = nid('after-refresh');
    await enqueue({ notificationId: next, userId: alice.id, body: 'y' });
    await receiver.until(() => receiver.of(next).length === 1);
    expect(receiver.of(next)[0]?.body.token).toBe(newToken);
  });

  it('cancel before the send drops the push: nothing reaches the device; an uncancelled one leaves after its delay', async () => {
    script({});
    const alice = await makeUser(node);
    await device(alice, 'ios', { platform: 'apns', token: apnsToken() });
    await device(alice, 'android', { platform: 'fcm', token: fcmToken() });
    const cancelled = nid('shown-on-socket');
    const kept = nid('not-shown');
    const at = Date.now();
    await enqueue(
      { notificationId: cancelled, userId: alice.id, body: 'seen on the socket', delayMs: 700 },
      { notificationId: kept, userId: alice.id, body: 'not seen', delayMs: 700 },
    );
    expect((await rowsOf(alice, cancelled)).map((r) => r.state)).toEqual(['pending', 'pending']);
    await node.ports.push.cancel([cancelled]);
    expect(await rowsOf(alice, cancelled)).toEqual([]);
    await receiver.until(() => receiver.of(kept).length === 2);
    for (const p of receiver.of(kept)) expect(p.at - at).toBeGreaterThanOrEqual(700 - 5);
    await settle(500);
    expect(receiver.of(cancelled)).toEqual([]);
    // Cancelling what was sent already changes nothing.
    await node.ports.push.cancel([kept]);
    expect((await rowsOf(alice, kept)).map((r) => r.state)).toEqual(['sent', 'sent']);
  });
});
