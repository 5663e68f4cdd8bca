import { describe, expect, it } from 'vitest';
import type { PresenceStore } from './presence-store.js';

const T0 = 1_800_000_000_000;
const GRACE = 5000;

/**
 * The contract every `PresenceStore` adapter passes (see the port's
 * comment). `open` makes a store of its own (empty; its own key prefix).
 */
export function presenceStoreContract(name: string, open: () => Promise<PresenceStore>) {
  describe(`PresenceStore contract: ${name}`, () => {
    it('first session online with a version, a second one quiet; the last to close leaves, settled once after the grace', async () => {
      const s = await open();
      const v1 = await s.sessionOpened('u1', 'a/1', 'a', T0);
      expect(v1).toBeGreaterThan(0);
      expect(await s.sessionOpened('u1', 'b/1', 'b', T0 + 1)).toBeUndefined();
      expect(await s.sessionClosed('u1', 'a/1', 'a', T0 + 2, GRACE)).toBeUndefined();
      expect(await s.sessionClosed('u1', 'b/1', 'b', T0 + 10, GRACE)).toBe(T0 + 10 + GRACE);
      // Leaving counts as online, with the version it went online with.
      expect(await s.states(['u1', 'nobody'])).toEqual(new Map([['u1', { online: true, v: v1 }]]));
      expect(await s.settle(T0 + 10 + GRACE - 1, 100)).toEqual([]);
      const [settled, ...more] = await s.settle(T0 + 10 + GRACE, 100);
      expect(more).toEqual([]);
      expect(settled).toMatchObject({ userId: 'u1', lastSeen: T0 + 10 });
      expect(settled!.v).toBeGreaterThan(v1!);
      expect(await s.settle(T0 + 60_000, 100)).toEqual([]);
      expect(await s.states(['u1'])).toEqual(new Map());
      expect(await s.counts()).toEqual({ sessions: 0, leaving: 0, nodes: 0 });
      await s.close();
    });

    it('a session opened in the grace takes the user back quietly: nothing to settle', async () => {
      const s = await open();
      const v1 = await s.sessionOpened('u2', 'a/1', 'a', T0);
      expect(await s.sessionClosed('u2', 'a/1', 'a', T0 + 100, GRACE)).toBe(T0 + 100 + GRACE);
      expect(await s.sessionOpened('u2', 'a/2', 'a', T0 + 200)).toBeUndefined();
      expect(await s.settle(T0 + 100 + GRACE, 100)).toEqual([]);
      expect(await s.states(['u2'])).toEqual(new Map([['u2', { online: true, v: v1 }]]));
      // Closing it leaves again, from the new time.
      expect(await s.sessionClosed('u2', 'a/2', 'a', T0 + 300, GRACE)).toBe(T0 + 300 + GRACE);
      expect(await s.settle(T0 + 300 + GRACE, 100)).toMatchObject([{ userId: 'u2', lastSeen: T0 + 300 }]);
      await s.close();
    });

    it('a session opened or closed twice changes nothing more', async () => {
      const s = await open();
      await s.sessionOpened('u3', 'a/1', 'a', T0);
      expect(await s.sessionOpened('u3', 'a/1', 'a', T0 + 1)).toBeUndefined();
      expect(await s.counts()).toEqual({ sessions: 1, leaving: 0, nodes: 0 });
      await s.heartbeat('a', T0);
      expect(await s.counts()).toEqual({ sessions: 1, leaving: 0, nodes: 1 });
      expect(await s.sessionClosed('u3', 'a/1', 'a', T0 + 2, GRACE)).toBe(T0 + 2 + GRACE);
      expect(await s.sessionClosed('u3', 'a/1', 'a', T0 + 3, GRACE)).toBeUndefined();
      expect(await s.sessionClosed('u3', 'never', 'a', T0 + 3, GRACE)).toBeUndefined();
      expect(await s.counts()).toEqual({ sessions: 0, leaving: 1, nodes: 1 });
      await s.close();
    });

    it('versions grow across users, settles and touches, even when the clock does not', async () => {
      const s = await open();
      const seen: number[] = [];
      seen.push((await s.sessionOpened('v1', 'a/1', 'a', T0))!);
      seen.push((await s.sessionOpened('v2', 'a/2', 'a', T0))!);
      const t = await s.touch('v1', T0);
      expect(t.online).toBe(true);
      seen.push(t.v);
      expect(await s.states(['v1'])).toEqual(new Map([['v1', { online: true, v: t.v }]]));
      const off = await s.touch('offline-user', T0 - 5000);
      expect(off.online).toBe(false);
      seen.push(off.v);
      await s.sessionClosed('v2', 'a/2', 'a', T0, 0);
      seen.push(...(await s.settle(T0, 10)).map((x) => x.v));
      expect(seen).toHaveLength(5);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
      expect(await s.states(['offline-user'])).toEqual(new Map());
      await s.close();
    });

    it('settles at most `limit` at a time, each user once', async () => {
      const s = await open();
      for (let i = 0; i < 7; i++) {
        await s.sessionOpened(`w${i}`, `a/${i}`, 'a', T0);
        await s.sessionClosed(`w${i}`, `a/${i}`, 'a', T0 + i, GRACE);
      }
      const first = await s.settle(T0 + 6 + GRACE, 4);
      const second = await s.settle(T0 + 6 + GRACE, 4);
      expect(first).toHaveLength(4);
      expect(second).toHaveLength(3);
      expect(new Set([...first, ...second].map((x) => x.userId)).size).toBe(7);
      await s.close();
    });

    it("a dead node's sessions end in chunks; users with no other session leave from its last heartbeat", async () => {
      const s = await open();
      expect(await s.heartbeat('dead', T0)).toBe(false);
      expect(await s.heartbeat('dead', T0 + 1000)).toBe(true);
      expect(await s.heartbeat('live', T0 + 4000)).toBe(false);
      for (let i = 0; i < 5; i++) await s.sessionOpened(`d${i}`, `dead/${i}`, 'dead', T0 + 500);
      // d0 also has a session on the live node: it stays online.
      await s.sessionOpened('d0', 'live/0', 'live', T0 + 600);
      expect(await s.deadNodes(T0 + 1000)).toEqual([]);
      expect(await s.deadNodes(T0 + 3000)).toEqual([{ node: 'dead', at: T0 + 1000 }]);
      // Asked about an older heartbeat than the node's: it is alive, nothing happens.
      expect(await s.endNode('dead', T0, GRACE, 100)).toMatchObject({ alive: true, ended: 0 });
      const a = await s.endNode('dead', T0 + 1000, GRACE, 3);
      expect(a).toMatchObject({ alive: false, ended: 3, left: 2 });
      const b = await s.endNode('dead', T0 + 1000, GRACE, 3);
      expect(b).toMatchObject({ alive: false, ended: 2, left: 0 });
      expect(a.deadline ?? b.deadline).toBe(T0 + 1000 + GRACE);
      expect(await s.deadNodes(T0 + 10_000)).toEqual([{ node: 'live', at: T0 + 4000 }]);
      expect(await s.counts()).toEqual({ sessions: 1, leaving: 4, nodes: 1 });
      const settled = await s.settle(T0 + 1000 + GRACE, 100);
      expect(settled.map((x) => x.userId).sort()).toEqual(['d1', 'd2', 'd3', 'd4']);
      for (const x of settled) expect(x.lastSeen).toBe(T0 + 1000);
      expect([...(await s.states(['d0', 'd1'])).keys()]).toEqual(['d0']);
      // The reaped node comes back: the store no longer knew it.
      expect(await s.heartbeat('dead', T0 + 9000)).toBe(false);
      await s.close();
    });

    it('many sessions of one user opening and closing at once on several nodes: one online, one leave, one settle', async () => {
      const s = await open();
      const sessions = Array.from({ length: 24 }, (_, i) => ({
        node: `n${i % 3}`,
        session: `n${i % 3}/${i}`,
      }));
      const opened = await Promise.all(sessions.map((x) => s.sessionOpened('c1', x.session, x.node, T0)));
      expect(opened.filter((v) => v !== undefined)).toHaveLength(1);
      const closed = await Promise.all(
        sessions.map((x, i) => s.sessionClosed('c1', x.session, x.node, T0 + i, GRACE)),
      );
      expect(closed.filter((d) => d !== undefined)).toHaveLength(1);
      const settles = await Promise.all([1, 2, 3].map(() => s.settle(T0 + 60_000, 10)));
      expect(settles.flat()).toHaveLength(1);
      await s.close();
    });
  });
}
