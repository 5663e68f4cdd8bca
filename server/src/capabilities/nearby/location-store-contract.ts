import { describe, expect, it } from 'vitest';
import { cellOf, coveringCells, haversineMeters, type LatLon } from './geo.js';
import type { Fix, LocationStore, StoredFix } from './location-store.js';

const TTL = 60_000;

/** `d` metres north of `p` (on the sphere, near enough for tests far from the poles). */
function north(p: LatLon, d: number): LatLon {
  return { lat: p.lat + (d / 6_371_008.8) * (180 / Math.PI), lon: p.lon };
}

function fixAt(userId: string, p: LatLon, at: number, accuracy: number | null = null): StoredFix {
  return { userId, lat: p.lat, lon: p.lon, accuracy, at, cell: cellOf(p) };
}

const ids = (fixes: readonly Fix[] | undefined) => (fixes ?? []).map((f) => f.userId).sort();

/**
 * The contract every `LocationStore` adapter passes (see the port's
 * comment): `open` gives a store (a fresh namespace each time), `user` a
 * new user id.
 */
export function locationStoreContract(name: string, open: () => Promise<LocationStore>, user: () => string) {
  describe(`LocationStore contract: ${name}`, () => {
    const here: LatLon = { lat: 48.8566, lon: 2.3522 };

    it('stores a fix only while sharing is on; off removes it at once; versions fence stale changes', async () => {
      const s = await open();
      const u = user();
      const now = Date.now();
      expect(await s.put(fixAt(u, here, now), TTL)).toBe('unknown');
      expect((await s.me(u, now)).sharing).toBeUndefined();
      await s.setSharing(u, { on: true, version: 1 });
      expect(await s.put(fixAt(u, here, now, 12.5), TTL)).toBe('ok');
      expect(await s.me(u, now)).toEqual({
        sharing: { on: true, version: 1 },
        fix: { userId: u, lat: here.lat, lon: here.lon, accuracy: 12.5, at: now },
        friendsHeld: false,
        friendsGen: 0,
      });
      await s.setSharing(u, { on: false, version: 2 });
      expect((await s.me(u, now)).fix).toBeUndefined();
      expect(await s.put(fixAt(u, here, now), TTL)).toBe('off');
      // A late restore of an older version changes nothing.
      await s.setSharing(u, { on: true, version: 1 });
      expect((await s.me(u, now)).sharing).toEqual({ on: false, version: 2 });
      expect(await s.put(fixAt(u, here, now), TTL)).toBe('off');
      await s.setSharing(u, { on: true, version: 3 });
      expect(await s.put(fixAt(u, here, now), TTL)).toBe('ok');
      await s.close();
    });

    it('never answers an expired fix', async () => {
      const s = await open();
      const [viewer, friend] = [user(), user()];
      const at = Date.now();
      for (const id of [viewer, friend]) await s.setSharing(id, { on: true, version: 1 });
      await s.put(fixAt(viewer, here, at), TTL);
      await s.put(fixAt(friend, north(here, 50), at), TTL);
      await s.setFriends(viewer, [friend], 10 * TTL, 0);
      const cells = coveringCells(here, 1000);
      expect((await s.me(viewer, at + TTL - 1)).fix).toBeDefined();
      expect(ids((await s.candidates(viewer, cells, at + TTL - 1))?.fixes)).toEqual([friend]);
      expect(ids((await s.candidates(viewer, undefined, at + TTL - 1))?.fixes)).toEqual([friend]);
      expect((await s.me(viewer, at + TTL)).fix).toBeUndefined();
      expect((await s.candidates(viewer, cells, at + TTL))?.fixes).toEqual([]);
      expect((await s.candidates(viewer, undefined, at + TTL))?.fixes).toEqual([]);
      await s.close();
    });

    it('answers friends only, and reads the cells or the friends, whichever holds fewer', async () => {
      const s = await open();
      const viewer = user();
      const near = user();
      const far = user();
      const strangers = Array.from({ length: 12 }, () => user());
      const now = Date.now();
      const put = async (id: string, p: LatLon) => {
        await s.setSharing(id, { on: true, version: 1 });
        expect(await s.put(fixAt(id, p, now), TTL)).toBe('ok');
      };
      await put(viewer, here);
      await put(near, north(here, 300));
      await put(far, north(here, 200_000));
      for (const [i, id] of strangers.entries()) await put(id, north(here, 10 * i));
      const cells = coveringCells(here, 1000)!;
      expect(await s.candidates(viewer, cells, now)).toBeUndefined();

      // Two friends, fourteen people in the cells: the friends are read.
      await s.setFriends(viewer, [near, far], TTL, 0);
      expect((await s.me(viewer, now)).friendsHeld).toBe(true);
      const byFriends = await s.candidates(viewer, cells, now);
      expect(byFriends).toMatchObject({ plan: 'friends', scanned: 2 });
      expect(ids(byFriends?.fixes)).toEqual([far, near].sort());

      // Many friends (most without a fix): the cells are read, and only friends in them answered.
      const many = [near, far, ...Array.from({ length: 40 }, () => user())];
      await s.setFriends(viewer, many, TTL, 0);
      const byCells = await s.candidates(viewer, cells, now);
      expect(byCells?.plan).toBe('cells');
      expect(byCells?.scanned).toBe(strangers.length + 2);
      expect(ids(byCells?.fixes)).toEqual([near]);
      // Without cells (a circle around a pole) the friends are read.
      expect(await s.candidates(viewer, undefined, now)).toMatchObject({
        plan: 'friends',
        scanned: many.length,
      });

      // An empty friend set is held as such.
      await s.setFriends(viewer, [], TTL, 0);
      expect(await s.candidates(viewer, cells, now)).toEqual({ fixes: [], plan: 'friends', scanned: 0 });
      await s.dropFriends([viewer]);
      expect((await s.me(viewer, now)).friendsHeld).toBe(false);
      expect(await s.candidates(viewer, cells, now)).toBeUndefined();
      await s.close();
    });

    it('a friend set read from the graph before a drop is not stored after it', async () => {
      const s = await open();
      const u = user();
      const now = Date.now();
      const { friendsGen } = await s.me(u, now);
      // A follow changes while the graph is being read.
      await s.dropFriends([u]);
      expect(await s.setFriends(u, [user()], TTL, friendsGen)).toBe(false);
      expect((await s.me(u, now)).friendsHeld).toBe(false);
      const again = (await s.me(u, now)).friendsGen;
      expect(again).toBeGreaterThan(friendsGen);
      expect(await s.setFriends(u, [], TTL, again)).toBe(true);
      expect((await s.me(u, now)).friendsHeld).toBe(true);
      await s.close();
    });

    it('a fix that moves leaves its old cells; one turned off or forgotten leaves every cell', async () => {
      const s = await open();
      const viewer = user();
      const a = user();
      const b = user();
      const now = Date.now();
      for (const id of [viewer, a, b]) await s.setSharing(id, { on: true, version: 1 });
      const away = { lat: -33.8688, lon: 151.2093 };
      await s.put(fixAt(viewer, here, now), TTL);
      await s.put(fixAt(a, north(here, 100), now), TTL);
      await s.put(fixAt(b, north(here, 200), now), TTL);
      // Many friends, so the cells are read and counted.
      await s.setFriends(viewer, [a, b, ...Array.from({ length: 20 }, () => user())], TTL, 0);
      const cells = coveringCells(here, 1000)!;
      expect(await s.candidates(viewer, cells, now)).toMatchObject({ plan: 'cells', scanned: 3 });
      await s.put(fixAt(a, away, now + 1), TTL);
      const moved = await s.candidates(viewer, cells, now + 1);
      expect(moved?.scanned).toBe(2);
      expect(ids(moved?.fixes)).toEqual([b]);
      expect(ids((await s.candidates(viewer, coveringCells(away, 1000), now + 1))?.fixes)).toEqual([a]);
      await s.setSharing(b, { on: false, version: 2 });
      expect(await s.candidates(viewer, cells, now + 1)).toMatchObject({
        plan: 'cells',
        scanned: 1,
        fixes: [],
      });
      await s.forget(a);
      expect(await s.candidates(viewer, coveringCells(away, 1000), now + 1)).toMatchObject({
        scanned: 0,
        fixes: [],
      });
      expect(await s.me(a, now + 1)).toEqual({
        sharing: undefined,
        fix: undefined,
        friendsHeld: false,
        friendsGen: 0,
      });
      expect(await s.put(fixAt(a, away, now + 2), TTL)).toBe('unknown');
      await s.close();
    });

    it('fixes keep their exact coordinates (distances are computed from them)', async () => {
      const s = await open();
      const [viewer, friend] = [user(), user()];
      const now = Date.now();
      const p = { lat: -0.1234567890123, lon: 179.9999999999 };
      for (const id of [viewer, friend]) await s.setSharing(id, { on: true, version: 1 });
      await s.put(fixAt(friend, p, now), TTL);
      await s.setFriends(viewer, [friend], TTL, 0);
      const [f] = (await s.candidates(viewer, undefined, now))?.fixes ?? [];
      expect(f).toEqual({ userId: friend, lat: p.lat, lon: p.lon, accuracy: null, at: now });
      expect(haversineMeters(f!, p)).toBe(0);
      await s.close();
    });
  });
}
