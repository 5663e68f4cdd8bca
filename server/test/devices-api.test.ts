import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { http, makeUser, shardIn, type TestUser } from './fixtures/social.js';
import { startTestNode } from './helpers/test-node.js';

/**
 * The devices routes (`PUT`/`GET`/`DELETE /v1/devices…`) on a real node on
 * two databases: where rows land, refreshes, a token moving between users
 * on different databases, the per-user cap, and every bad input refused
 * with its code and nothing changed.
 */
let node: ShutterNode;

beforeAll(async () => {
  node = await startTestNode('ws', { PUSH_MAX_DEVICES: '3' });
});
afterAll(() => node?.shutdown());

const apnsToken = () => randomBytes(32).toString('hex');
const fcmToken = () => `f${randomBytes(8).toString('hex')}:APA91b${randomBytes(40).toString('base64url')}`;
const put = (u: TestUser | undefined, id: string, body: unknown) =>
  http(node, u, 'PUT', `/v1/devices/${id}`, body);
const list = async (u: TestUser) => (await http(node, u, 'GET', '/v1/devices')).body.items;

/** The token's holder as `push_tokens` says (in the token's database). */
async function holder(token: string) {
  const r = await node.db
    .forKey(token)
    .query('SELECT user_id::text AS user_id, device_id FROM push_tokens WHERE token = $1', [token]);
  return r.rows[0];
}

/** Every devices row of the user in every database, and every token claim naming them: what "nothing changed" compares. */
async function snapshot(u: TestUser) {
  const out: unknown[] = [];
  for (const sql of node.db.all) {
    out.push(
      (await sql.query('SELECT * FROM devices WHERE user_id = $1 ORDER BY device_id', [u.id])).rows,
      (await sql.query('SELECT * FROM push_tokens WHERE user_id = $1 ORDER BY token', [u.id])).rows,
    );
  }
  return out;
}

describe('PUT /v1/devices/{id}', () => {
  it('registers a device in the user database, lower-cases an APNs token, and lists it', async () => {
    for (const db of [0, 1]) {
      const alice = await makeUser(node, { shard: shardIn(node, db) });
      const token = apnsToken().toUpperCase();
      const r = await put(alice, 'ios-1', {
        platform: 'apns',
        token,
        appId: 'com.example.shutter',
        locale: 'fr-FR',
      });
      expect(r.status).toBe(200);
      expect(r.body.device).toMatchObject({
        id: 'ios-1',
        platform: 'apns',
        token: token.toLowerCase(),
        appId: 'com.example.shutter',
        locale: 'fr-FR',
      });
      expect(r.body.device.createdAt).toBe(r.body.device.updatedAt);
      const rows = await node.db
        .forId(alice.id)
        .query('SELECT device_id FROM devices WHERE user_id = $1', [alice.id]);
      expect(rows.rows).toEqual([{ device_id: 'ios-1' }]);
      const other = node.db.all.find((d) => d !== node.db.forId(alice.id));
      expect((await other?.query('SELECT 1 FROM devices WHERE user_id = $1', [alice.id]))?.rows).toEqual([]);
      expect(await holder(token.toLowerCase())).toEqual({ user_id: alice.id, device_id: 'ios-1' });
      expect(await list(alice)).toEqual([r.body.device]);
    }
  });

  it('a refresh replaces token, app id and locale in place, keeps createdAt, and releases the old token', async () => {
    const alice = await makeUser(node);
    const first = fcmToken();
    const a = (await put(alice, 'px-7', { platform: 'fcm', token: first, locale: 'en' })).body.device;
    const again = (await put(alice, 'px-7', { platform: 'fcm', token: first, locale: 'en' })).body.device;
    expect(again).toMatchObject({ token: first, createdAt: a.createdAt });
    const second = fcmToken();
    const b = (await put(alice, 'px-7', { platform: 'fcm', token: second })).body.device;
    expect(b).toMatchObject({ id: 'px-7', token: second, locale: null, appId: null, createdAt: a.createdAt });
    expect(b.updatedAt).toBeGreaterThanOrEqual(a.updatedAt);
    expect(await list(alice)).toEqual([b]);
    expect(await holder(first)).toBeUndefined();
    expect(await holder(second)).toEqual({ user_id: alice.id, device_id: 'px-7' });
  });

  it('a token registered by another user (on the other database) leaves the previous one, pending pushes included', async () => {
    const alice = await makeUser(node, { shard: shardIn(node, 0) });
    const bob = await makeUser(node, { shard: shardIn(node, 1) });
    const token = apnsToken();
    await put(alice, 'shared-ipad', { platform: 'apns', token });
    await put(alice, 'her-phone', { platform: 'fcm', token: fcmToken() });
    await node.ports.push.enqueue([
      { notificationId: 'n-for-alice', userId: alice.id, body: 'hi', delayMs: 60_000 },
    ]);
    const pending = () =>
      node.db
        .forId(alice.id)
        .query(
          `SELECT device_id FROM push_outbox WHERE user_id = $1 AND state = 'pending' ORDER BY device_id`,
          [alice.id],
        );
    expect((await pending()).rows).toEqual([{ device_id: 'her-phone' }, { device_id: 'shared-ipad' }]);

    const r = await put(bob, 'shared-ipad', { platform: 'apns', token });
    expect(r.status).toBe(200);
    expect((await list(alice)).map((d: { id: string }) => d.id)).toEqual(['her-phone']);
    expect((await list(bob)).map((d: { id: string; token: string }) => [d.id, d.token])).toEqual([
      ['shared-ipad', token],
    ]);
    expect(await holder(token)).toEqual({ user_id: bob.id, device_id: 'shared-ipad' });
    expect((await pending()).rows).toEqual([{ device_id: 'her-phone' }]);
    await node.ports.push.cancel(['n-for-alice']);
  });

  it('the same token under a new device id of the same user (a reinstall) replaces the old device', async () => {
    const alice = await makeUser(node);
    const token = fcmToken();
    await put(alice, 'install-1', { platform: 'fcm', token });
    await put(alice, 'install-2', { platform: 'fcm', token });
    expect((await list(alice)).map((d: { id: string }) => d.id)).toEqual(['install-2']);
    expect(await holder(token)).toEqual({ user_id: alice.id, device_id: 'install-2' });
  });

  it('keeps PUSH_MAX_DEVICES devices: one more drops the least recently refreshed and its token claim', async () => {
    const alice = await makeUser(node);
    const tokens = [fcmToken(), fcmToken(), fcmToken(), fcmToken()];
    for (const [i, token] of tokens.entries()) {
      await put(alice, `d${i}`, { platform: 'fcm', token });
      // Refreshing d0 after d1 makes d1 the least recently refreshed.
      if (i === 1) await put(alice, 'd0', { platform: 'fcm', token: tokens[0] });
    }
    expect((await list(alice)).map((d: { id: string }) => d.id)).toEqual(['d3', 'd2', 'd0']);
    expect(await holder(tokens[1] as string)).toBeUndefined();
  });

  it('refuses every bad input with its code and changes nothing', async () => {
    const alice = await makeUser(node);
    await put(alice, 'keep', { platform: 'fcm', token: fcmToken() });
    const before = await snapshot(alice);
    const ok = { platform: 'fcm', token: fcmToken() };
    const cases: [string, string, unknown, number, string][] = [
      ['unknown platform', 'd', { ...ok, platform: 'gcm' }, 400, 'bad_request'],
      ['APNs token that is not hex', 'd', { platform: 'apns', token: 'z'.repeat(64) }, 400, 'bad_request'],
      ['APNs token too short', 'd', { platform: 'apns', token: 'ab'.repeat(16) }, 400, 'bad_request'],
      ['token with a space', 'd', { ...ok, token: 'a b' }, 400, 'bad_request'],
      ['token of 4 097 characters', 'd', { ...ok, token: 'a'.repeat(4097) }, 400, 'bad_request'],
      ['empty token', 'd', { ...ok, token: '' }, 400, 'bad_request'],
      ['no token', 'd', { platform: 'fcm' }, 400, 'bad_request'],
      ['device id with a space', 'a%20b', ok, 400, 'bad_request'],
      ['device id of 129 characters', 'x'.repeat(129), ok, 400, 'bad_request'],
      ['device id in the body too', 'd', { ...ok, id: 'd' }, 400, 'bad_request'],
      ['unknown field', 'd', { ...ok, sound: 'ping' }, 400, 'bad_request'],
      ['bad app id', 'd', { ...ok, appId: 'com example' }, 400, 'bad_request'],
      ['bad locale', 'd', { ...ok, locale: 'fr-FR-!!' }, 400, 'bad_request'],
      ['token not a string', 'd', { ...ok, token: 42 }, 400, 'bad_request'],
    ];
    for (const [what, id, body, status, code] of cases) {
      const r = await put(alice, id, body);
      expect([what, r.status, r.body?.error?.code]).toEqual([what, status, code]);
    }
    const anon = await put(undefined, 'd', ok);
    expect([anon.status, anon.body.error.code]).toEqual([401, 'unauthenticated']);
    const bad = await fetch(`${node.url}/v1/devices/d`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' },
      body: '{"platform":',
    });
    expect([bad.status, ((await bad.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      'bad_request',
    ]);
    expect(await snapshot(alice)).toEqual(before);
    expect((await list(alice)).map((d: { id: string }) => d.id)).toEqual(['keep']);
  });
});

describe('DELETE /v1/devices/{id} and GET /v1/devices', () => {
  it('removes the device, its pending pushes and its token claim; again answers removed: false', async () => {
    const alice = await makeUser(node);
    const token = apnsToken();
    await put(alice, 'gone-soon', { platform: 'apns', token });
    await node.ports.push.enqueue([
      { notificationId: 'n-del', userId: alice.id, body: 'x', delayMs: 60_000 },
    ]);
    const r = await http(node, alice, 'DELETE', '/v1/devices/gone-soon');
    expect(r).toEqual({ status: 200, body: { id: 'gone-soon', removed: true } });
    expect(await list(alice)).toEqual([]);
    expect(await holder(token)).toBeUndefined();
    const rows = await node.db
      .forId(alice.id)
      .query('SELECT 1 FROM push_outbox WHERE user_id = $1', [alice.id]);
    expect(rows.rows).toEqual([]);
    expect((await http(node, alice, 'DELETE', '/v1/devices/gone-soon')).body).toEqual({
      id: 'gone-soon',
      removed: false,
    });
  });

  it("touches only the caller's devices: another user's device of the same id stays", async () => {
    const alice = await makeUser(node);
    const bob = await makeUser(node);
    await put(alice, 'same-id', { platform: 'fcm', token: fcmToken() });
    await put(bob, 'same-id', { platform: 'fcm', token: fcmToken() });
    expect((await http(node, bob, 'DELETE', '/v1/devices/same-id')).body.removed).toBe(true);
    expect((await list(alice)).map((d: { id: string }) => d.id)).toEqual(['same-id']);
    expect(await list(bob)).toEqual([]);
  });

  it('refuses bad ids and callers without a token, changing nothing', async () => {
    const alice = await makeUser(node);
    await put(alice, 'keep', { platform: 'fcm', token: fcmToken() });
    const before = await snapshot(alice);
    const r = await http(node, alice, 'DELETE', `/v1/devices/${'x'.repeat(129)}`);
    expect([r.status, r.body.error.code]).toEqual([400, 'bad_request']);
    const anon = await http(node, undefined, 'DELETE', '/v1/devices/keep');
    expect([anon.status, anon.body.error.code]).toEqual([401, 'unauthenticated']);
    const anonList = await http(node, undefined, 'GET', '/v1/devices');
    expect([anonList.status, anonList.body.error.code]).toEqual([401, 'unauthenticated']);
    const extra = await http(node, alice, 'GET', '/v1/devices?limit=5');
    expect([extra.status, extra.body.error.code]).toEqual([400, 'bad_request']);
    expect(await snapshot(alice)).toEqual(before);
  });

  it("a deleted account's devices, token claims and pushes go with it", async () => {
    const alice = await makeUser(node);
    const token = apnsToken();
    await put(alice, 'p', { platform: 'apns', token });
    await node.ports.push.enqueue([
      { notificationId: 'n-acct', userId: alice.id, body: 'x', delayMs: 60_000 },
    ]);
    await node.ports.userDeleted(alice.id);
    expect(await snapshot(alice)).toEqual(node.db.all.flatMap(() => [[], []]));
    const rows = await node.db
      .forId(alice.id)
      .query('SELECT 1 FROM push_outbox WHERE user_id = $1', [alice.id]);
    expect(rows.rows).toEqual([]);
  });
});
