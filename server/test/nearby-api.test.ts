import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { bruteForce, buildNearbyMap, destination, type NearbyMap } from './fixtures/nearby-map.js';
import { insertFollow } from './fixtures/posts.js';
import { http, makeUsers, type TestUser } from './fixtures/social.js';
import { SkewedClock } from './helpers/skewed-clock.js';
import { startTestNode } from './helpers/test-node.js';
import { redisUrl } from './services.js';

/**
 * Nearby friends over HTTP on the two location stores (memory, and Redis):
 * a map of users (`fixtures/nearby-map.ts`: a cell corner, the equator on
 * the prime meridian, the antimeridian, the north pole; radius edges ± 1 m;
 * people near who must not be shown) where every user's list, at three
 * radii, equals the brute force over the map; the opt-in; bad input.
 */
const TTL_MS = 60_000;
const RADIUS = 8047;
const clock = new SkewedClock();
const nodes: Record<'memory' | 'redis', ShutterNode | undefined> = { memory: undefined, redis: undefined };

beforeAll(async () => {
  clock.install();
  const env = { NEARBY_LOCATION_TTL_MS: String(TTL_MS) };
  [nodes.memory, nodes.redis] = await Promise.all([
    startTestNode('ws', env),
    startTestNode('ws', { ...env, REDIS_URL: redisUrl }),
  ]);
});

afterAll(async () => {
  const ns = nodes.redis?.config.services.namespace;
  await Promise.all([nodes.memory?.shutdown(), nodes.redis?.shutdown()]);
  clock.uninstall();
  if (ns) {
    const r = new Redis(redisUrl);
    const keys = await r.keys(`${ns}:*`);
    if (keys.length) await r.del(...keys);
    await r.quit();
  }
});

/** `GET /v1/me/nearby/friends` as `user`. */
async function list(node: ShutterNode, user: TestUser, radius?: number) {
  const res = await http(
    node,
    user,
    'GET',
    `/v1/me/nearby/friends${radius ? `?radiusMeters=${radius}` : ''}`,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as {
    sharing: boolean;
    located: boolean;
    radiusMeters: number;
    asOf: number;
    items: {
      user: { id: string };
      distanceMeters: number;
      fixAt: number;
      ageMs: number;
      accuracyMeters: number | null;
    }[];
  };
}

describe.each(['memory', 'redis'] as const)('nearby friends (%s store)', (kind) => {
  let node: ShutterNode;
  let map: NearbyMap;
  beforeAll(async () => {
    node = nodes[kind]!;
    map = await buildNearbyMap(node, RADIUS, {
      beforeFresh: () => clock.jump(TTL_MS - 5000),
      afterFresh: () => clock.jump(6000),
    });
  });

  it('every list, at three radii, equals the brute force over the map', async () => {
    let compared = 0;
    for (const [name, user] of map.users) {
      for (const r of [undefined, 2000, 50_000]) {
        const got = await list(node, user, r);
        const want = bruteForce(map, user.id, r ?? RADIUS, got.asOf, TTL_MS);
        const at = `${name} within ${r ?? RADIUS} m`;
        expect([got.sharing, got.located, got.radiusMeters], at).toEqual([
          want.sharing,
          want.located,
          r ?? RADIUS,
        ]);
        expect(
          got.items.map((i) => map.names.get(i.user.id)),
          at,
        ).toEqual(want.items.map(([id]) => map.names.get(id)));
        got.items.forEach((item, i) => {
          expect(Math.abs(item.distanceMeters - want.items[i]![1]), at).toBeLessThanOrEqual(0.5 + 1e-6);
          expect(item.fixAt).toBe(map.fixAt.get(item.user.id));
          expect(item.ageMs).toBe(got.asOf - item.fixAt);
          expect(item.accuracyMeters).toBe(5);
        });
        compared += got.items.length;
      }
    }
    // The map is not vacuous: lists hold friends, and the edges fall where they should.
    expect(compared).toBeGreaterThan(40);
    const names = async (n: string, r?: number) =>
      (await list(node, map.users.get(n)!, r)).items.map((i) => map.names.get(i.user.id));
    const paris = await names('paris');
    expect(paris).toEqual(
      expect.arrayContaining([
        'p-in-north',
        'p-in-east',
        'p-in-southwest',
        'p-edge-lat',
        'p-edge-lon',
        'p-across-corner',
        'p-same-spot',
      ]),
    );
    for (const hidden of [
      'p-out-north',
      'p-out-west',
      'p-far',
      'p-follows-only',
      'p-followed-only',
      'p-pending',
      'p-blocked',
      'p-sharing-off',
      'p-no-fix',
      'p-stale',
    ])
      expect(paris, hidden).not.toContain(hidden);
    expect(await names('fiji')).toEqual(['f-across', 'f-in-west', 'f-in-east']);
    expect(await names('pole')).toEqual(['n-across', 'n-in-south']);
    expect((await names('zero')).sort()).toEqual(['z-ne', 'z-nw', 'z-se', 'z-sw']);
    // Nobody hidden sees the viewer either: visibility is mutual.
    for (const n of ['p-follows-only', 'p-followed-only', 'p-pending', 'p-blocked'])
      expect(await names(n), n).not.toContain('paris');
    expect(await list(node, map.users.get('p-sharing-off')!)).toMatchObject({ sharing: false, items: [] });
    expect(await list(node, map.users.get('p-stale')!)).toMatchObject({
      sharing: true,
      located: false,
      items: [],
    });
  });

  it('sharing is off by default; a location is refused while off; off, and deleting the account, take the location away at once', async () => {
    const [ann, ben] = await makeUsers(node, 2);
    await insertFollow(node, ann!.id, ben!.id);
    await insertFollow(node, ben!.id, ann!.id);
    const here = { lat: 40.7128, lon: -74.006 };
    expect((await http(node, ann, 'GET', '/v1/me/nearby')).body).toEqual({ sharing: false, updatedAt: null });
    const refused = await http(node, ann, 'PUT', '/v1/me/location', here);
    expect([refused.status, refused.body.error.code]).toEqual([409, 'nearby_off']);
    expect(await list(node, ann!)).toMatchObject({ sharing: false, located: false, items: [] });

    for (const u of [ann, ben])
      expect((await http(node, u, 'PUT', '/v1/me/nearby', { sharing: true })).status).toBe(200);
    const on = (await http(node, ann, 'GET', '/v1/me/nearby')).body;
    expect(on.sharing).toBe(true);
    expect(on.updatedAt).toBeGreaterThan(0);
    expect((await http(node, ann, 'PUT', '/v1/me/location', here)).status).toBe(200);
    expect((await http(node, ben, 'PUT', '/v1/me/location', destination(here, 500, 90))).status).toBe(200);
    expect((await list(node, ben!)).items.map((i) => i.user.id)).toEqual([ann!.id]);

    // Off: from the answer on, ben no longer sees ann, and ann's list is empty.
    expect((await http(node, ann, 'PUT', '/v1/me/nearby', { sharing: false })).body.sharing).toBe(false);
    expect((await list(node, ben!)).items).toEqual([]);
    expect(await list(node, ann!)).toMatchObject({ sharing: false, items: [] });
    expect((await http(node, ann, 'PUT', '/v1/me/location', here)).status).toBe(409);
    // On again: nothing shown until ann sends a new location (the old one was removed).
    await http(node, ann, 'PUT', '/v1/me/nearby', { sharing: true });
    expect((await list(node, ben!)).items).toEqual([]);
    expect(await list(node, ann!)).toMatchObject({ sharing: true, located: false });
    await http(node, ann, 'PUT', '/v1/me/location', here);
    expect((await list(node, ben!)).items.map((i) => i.user.id)).toEqual([ann!.id]);

    // A deleted account takes its location and its setting with it.
    await node.ports.userDeleted(ann!.id);
    expect((await list(node, ben!)).items).toEqual([]);
    const rows = await node.db
      .forId(ann!.id)
      .query('SELECT 1 FROM nearby_settings WHERE user_id = $1', [ann!.id]);
    expect(rows.rows).toEqual([]);
  });

  it('refuses bad input with bad_request and changes nothing', async () => {
    const [cy] = await makeUsers(node, 1);
    await http(node, cy, 'PUT', '/v1/me/nearby', { sharing: true });
    const here = { lat: 35.6762, lon: 139.6503 };
    expect((await http(node, cy, 'PUT', '/v1/me/location', here)).status).toBe(200);
    const before = await list(node, cy!);
    for (const bad of [
      { lat: 90.0001, lon: 0 },
      { lat: -91, lon: 0 },
      { lat: 0, lon: 180.5 },
      { lat: 0, lon: -181 },
      { lat: 0, lon: 0, accuracy: -1 },
      { lat: '1', lon: 0 },
      { lat: 0 },
      { lat: 0, lon: 0, extra: 1 },
    ]) {
      const res = await http(node, cy, 'PUT', '/v1/me/location', bad);
      expect([res.status, res.body.error.code], JSON.stringify(bad)).toEqual([400, 'bad_request']);
    }
    for (const r of ['99', '50001', '2.5', 'x']) {
      const res = await http(node, cy, 'GET', `/v1/me/nearby/friends?radiusMeters=${r}`);
      expect([res.status, res.body.error.code], r).toEqual([400, 'bad_request']);
    }
    expect((await http(node, cy, 'PUT', '/v1/me/nearby', { sharing: 'yes' })).status).toBe(400);
    const after = await list(node, cy!);
    expect([after.sharing, after.located]).toEqual([before.sharing, before.located]);
    expect((await http(node, cy, 'GET', '/v1/me/nearby')).body.sharing).toBe(true);
  });
});
