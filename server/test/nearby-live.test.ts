import { createClient, type NearbyStreamEvent, type ShutterClient, watchNearby } from '@shutter/client-sdk';
import { nearbyStream } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ShutterNode } from '../src/node.js';
import { destination } from './fixtures/nearby-map.js';
import { insertFollow } from './fixtures/posts.js';
import { http, makeUsers, type TestUser } from './fixtures/social.js';
import { RawClient } from './helpers/raw-client.js';
import { devToken, startTestNode, wsUrl } from './helpers/test-node.js';
import { sleep, until } from './helpers/wait.js';

/**
 * The live list on `nearby:<id>` with the SDK's `watchNearby`: a friend
 * moving in, within and out of the radius, unfollowing and following
 * again, and going quiet until the fix expires; a stranger near never
 * shows; nothing is sent while nothing changes; only the user may watch.
 */
const INTERVAL_MS = 150;
const TTL_MS = 4000;
const HERE = { lat: 52.52, lon: 13.405 };

describe('the live nearby list', () => {
  let node: ShutterNode;
  const clients: ShutterClient[] = [];
  let raw: RawClient | undefined;
  beforeAll(async () => {
    node = await startTestNode('ws', {
      NEARBY_PUSH_INTERVAL_MS: String(INTERVAL_MS),
      NEARBY_VIEW_LEASE_MS: '1500',
      NEARBY_LOCATION_TTL_MS: String(TTL_MS),
    });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    raw?.close();
    await node?.shutdown();
  });

  const moveTo = async (u: TestUser, p: { lat: number; lon: number }): Promise<number> => {
    const res = await http(node, u, 'PUT', '/v1/me/location', p);
    expect(res.status).toBe(200);
    return res.body.at;
  };

  it('follows a friend moving in, within and out, a follow undone and redone, and an expired fix', async () => {
    const [me, friend, stranger] = await makeUsers(node, 3);
    await insertFollow(node, me!.id, friend!.id);
    await insertFollow(node, friend!.id, me!.id);
    await insertFollow(node, stranger!.id, me!.id);
    for (const u of [me, friend, stranger]) await http(node, u, 'PUT', '/v1/me/nearby', { sharing: true });
    await moveTo(me!, HERE);
    await moveTo(friend!, destination(HERE, 10_000, 45));
    await moveTo(stranger!, destination(HERE, 100, 0));

    const client = createClient({
      url: wsUrl(node),
      getToken: () => devToken(node, me!.id),
      WebSocket: WebSocket as never,
    });
    clients.push(client);
    const lists: (NearbyStreamEvent & { arrived: number })[] = [];
    watchNearby(client, me!.id, (l) => lists.push({ ...l, arrived: Date.now() }));
    client.connect();
    const last = () => lists.at(-1);
    const shown = () => last()?.items.map((i) => i.user.id) ?? [];

    // A new viewer gets the list at once, though nothing changed.
    await until(() => last()?.located === true, 3000, 'the first list');
    expect(last()).toMatchObject({ type: 'nearby', sharing: true, radiusMeters: 8047, items: [] });

    // In: at 2 km.
    let at = await moveTo(friend!, destination(HERE, 2000, 45));
    await until(() => last()?.items[0]?.fixAt === at, 3000, 'the friend coming in');
    expect(last()!.items).toEqual([
      expect.objectContaining({ user: expect.objectContaining({ id: friend!.id }), distanceMeters: 2000 }),
    ]);
    // Within: a new fix at 1 km, sent as a change.
    at = await moveTo(friend!, destination(HERE, 1000, 45));
    await until(() => last()?.items[0]?.fixAt === at, 3000, 'the friend moving closer');
    expect(last()!.items[0]!.distanceMeters).toBe(1000);

    // Nothing moves: nothing is sent (ages are the client's to count).
    const sent = lists.length;
    await sleep(4 * INTERVAL_MS);
    expect(lists.length).toBe(sent);

    // Out: at 9 km.
    await moveTo(friend!, destination(HERE, 9000, 45));
    await until(() => shown().length === 0, 3000, 'the friend going out');

    // In again, then the follow undone: gone; redone: back.
    at = await moveTo(friend!, destination(HERE, 500, 45));
    await until(() => last()?.items[0]?.fixAt === at, 3000, 'the friend back in');
    expect((await http(node, friend, 'DELETE', `/v1/users/${me!.id}/follow`)).status).toBe(200);
    await until(() => shown().length === 0, 3000, 'the friend gone with the unfollow');
    expect((await http(node, friend, 'PUT', `/v1/users/${me!.id}/follow`)).status).toBe(200);
    await until(() => shown()[0] === friend!.id, 3000, 'the friend back with the follow');

    // The friend goes quiet: their fix expires (mine is kept fresh), and they leave the list.
    const quietFrom = Date.now();
    await moveTo(me!, HERE);
    await until(() => shown().length === 0, TTL_MS + 3000, 'the expired fix gone');
    expect(Date.now() - quietFrom).toBeGreaterThanOrEqual(TTL_MS - 1000);

    // The stranger near by was never on any list.
    expect(lists.flatMap((l) => l.items.map((i) => i.user.id))).not.toContain(stranger!.id);
  });

  it('only the user may watch their list, at a radius in bounds', async () => {
    const [me, other] = await makeUsers(node, 2);
    raw = await RawClient.open(wsUrl(node), me!.token);
    const sub = async (stream: string) => {
      const r = await raw!.call({ t: 'sub', stream });
      return r.t === 'res' ? 'ok' : r.t === 'err' ? r.code : r.t;
    };
    expect(await sub(nearbyStream(other!.id))).toBe('forbidden');
    expect(await sub(`${nearbyStream(me!.id)}:99`)).toBe('forbidden');
    expect(await sub(`${nearbyStream(me!.id)}:0500`)).toBe('forbidden');
    expect(await sub(nearbyStream(me!.id, 2000))).toBe('ok');
    const ev = await raw.next((m) => m.t === 'ev');
    expect(ev).toMatchObject({
      data: { type: 'nearby', sharing: false, located: false, radiusMeters: 2000, items: [] },
    });
  });
});
