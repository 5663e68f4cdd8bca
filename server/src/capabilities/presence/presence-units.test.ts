import type { PresenceEntry, PresenceEvent } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryPresenceStore } from './memory-presence-store.js';
import type { Transition } from './outbox.js';
import { PresenceTracker } from './tracker.js';
import { PresenceWatchers, type WatchView } from './watchers.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_800_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A view that records what it was pushed, with the (fake) time. */
function recorder(viewer: string): WatchView & { got: { at: number; data: PresenceEvent }[] } {
  const got: { at: number; data: PresenceEvent }[] = [];
  return {
    viewer,
    got,
    push: (data) => {
      got.push({ at: Date.now(), data: data as PresenceEvent });
      return true;
    },
  };
}

const user = (id: string, v: number, online = true): PresenceEntry => ({
  id,
  online,
  lastSeen: online ? null : v,
  v,
});

function watchers(follows: Record<string, string[]>, states: Record<string, PresenceEntry> = {}) {
  const loads: string[] = [];
  const w = new PresenceWatchers({
    updateMs: 1000,
    now: Date.now,
    following: async (id) => {
      loads.push(id);
      return follows[id] ?? [];
    },
    stateOf: async (id) => states[id] ?? user(id, 0, false),
    onError: (err) => {
      throw err;
    },
  });
  return { w, loads };
}

describe('PresenceWatchers', () => {
  it('batches a watcher’s changes: the first at once, then at most one event per interval', async () => {
    const { w } = watchers({ me: ['a', 'b', 'c'] });
    const view = recorder('n/1');
    w.view('me', view);
    await vi.advanceTimersByTimeAsync(0); // follows loaded
    w.changes([user('a', 1)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(view.got.map((g) => g.data)).toEqual([{ type: 'presence', users: [user('a', 1)], removed: [] }]);
    // A burst within the interval: one event, one interval after the first, each user's newest state.
    for (let i = 0; i < 10; i++) {
      w.changes([user('b', 10 + i, i % 2 === 0), user('c', 30 + i)]);
      await vi.advanceTimersByTimeAsync(50);
    }
    await vi.advanceTimersByTimeAsync(1000);
    expect(view.got).toHaveLength(2);
    expect(view.got[1]!.at - view.got[0]!.at).toBe(1000);
    expect(view.got[1]!.data).toEqual({
      type: 'presence',
      users: [user('b', 19, false), user('c', 39)],
      removed: [],
    });
    expect(w.counts()).toEqual({ watchers: 1, watched: 3, due: 0 });
  });

  it('drops a change older than one already handed on, and changes of users nobody here watches', async () => {
    const { w } = watchers({ me: ['a'] });
    const view = recorder('n/1');
    w.view('me', view);
    await vi.advanceTimersByTimeAsync(0);
    w.changes([user('a', 5), user('stranger', 6)]);
    await vi.advanceTimersByTimeAsync(1000);
    w.changes([user('a', 4, false)]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(view.got.map((g) => g.data)).toEqual([{ type: 'presence', users: [user('a', 5)], removed: [] }]);
    expect(w.stats).toMatchObject({ changesIn: 3, changesKept: 1, events: 1 });
  });

  it('loads follows once per user on the node; the last view to leave empties the index', async () => {
    const { w, loads } = watchers({ me: ['a', 'b'], you: ['b'] });
    const [v1, v2, v3] = [recorder('n/1'), recorder('n/2'), recorder('n/3')];
    w.view('me', v1);
    w.view('me', v2);
    w.view('you', v3);
    w.view('me', v1); // a renewal
    await vi.advanceTimersByTimeAsync(0);
    expect(loads).toEqual(['me', 'you']);
    w.changes([user('b', 1)]);
    await vi.advanceTimersByTimeAsync(0);
    for (const v of [v1, v2, v3]) expect(v.got).toHaveLength(1);
    w.leave('me', 'n/1');
    w.leave('me', 'n/2');
    expect(w.counts()).toEqual({ watchers: 1, watched: 1, due: 0 });
    w.leave('you', 'n/3');
    expect(w.counts()).toEqual({ watchers: 0, watched: 0, due: 0 });
  });

  it('a follow adds the user with their state now; an unfollow or block removes them', async () => {
    const { w } = watchers({ me: ['a'] }, { b: user('b', 7) });
    const view = recorder('n/1');
    w.view('me', view);
    // Arrives while the follows load: applied after them.
    w.edges([{ watcher: 'me', user: 'b', on: true }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(view.got.map((g) => g.data)).toEqual([{ type: 'presence', users: [user('b', 7)], removed: [] }]);
    w.changes([user('a', 8)]);
    w.edges([{ watcher: 'me', user: 'a', on: false }]);
    await vi.advanceTimersByTimeAsync(1000);
    // The pending change of `a` is withdrawn with it.
    expect(view.got[1]!.data).toEqual({ type: 'presence', users: [], removed: ['a'] });
    w.changes([user('a', 9)]);
    await vi.advanceTimersByTimeAsync(3000);
    expect(view.got).toHaveLength(2);
  });
});

describe('PresenceTracker', () => {
  function tracker(store = new MemoryPresenceStore(), node = 'n1') {
    const out: (Transition & { at: number })[] = [];
    const t = new PresenceTracker({
      store,
      node,
      graceMs: 5000,
      heartbeatMs: 1000,
      nodeTimeoutMs: 3000,
      now: Date.now,
      transition: (x) => out.push({ ...x, at: Date.now() }),
      onError: (err) => {
        throw err;
      },
    });
    return { t, out, store };
  }

  it('online at the first session; a reconnect within the grace says nothing; offline once after it', async () => {
    const { t, out } = tracker();
    await t.start();
    t.opened('u', 's1');
    t.opened('u', 's2');
    await vi.advanceTimersByTimeAsync(0);
    expect(out).toMatchObject([{ userId: 'u', online: true }]);
    t.closed('u', 's1');
    t.closed('u', 's2');
    await vi.advanceTimersByTimeAsync(4000);
    t.opened('u', 's3'); // back within the grace
    await vi.advanceTimersByTimeAsync(10_000);
    expect(out).toHaveLength(1);
    const closedAt = Date.now();
    t.closed('u', 's3');
    await vi.advanceTimersByTimeAsync(4999);
    expect(out).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(out).toHaveLength(2);
    expect(out[1]).toMatchObject({ userId: 'u', online: false, lastSeen: closedAt });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(out).toHaveLength(2);
    await t.stop();
  });

  it('a node that stops heartbeating: another node settles its users within max(grace, timeout + heartbeat)', async () => {
    const store = new MemoryPresenceStore();
    const a = tracker(store, 'a');
    await a.t.start();
    // Node b, as the store sees it: a heartbeat and sessions, then nothing (killed).
    await store.heartbeat('b', Date.now());
    await store.sessionOpened('u1', 'b/1', 'b', Date.now());
    await store.sessionOpened('u2', 'b/2', 'b', Date.now());
    a.t.opened('u2', 'a/1'); // u2 is also on a: stays online
    await vi.advanceTimersByTimeAsync(0);
    const died = Date.now();
    await vi.advanceTimersByTimeAsync(9000);
    const offline = a.out.filter((x) => !x.online);
    expect(offline).toMatchObject([{ userId: 'u1' }]);
    expect((offline[0] as { lastSeen: number }).lastSeen).toBe(died);
    // Its last heartbeat + the grace (5 s) is later than when it is found dead (≤ 3 s + 1 s): then.
    expect(offline[0]!.at - died).toBeGreaterThanOrEqual(5000);
    expect(offline[0]!.at - died).toBeLessThanOrEqual(Math.max(5000, 3000 + 1000) + 1000);
    expect(a.t.stats).toMatchObject({ deadNodes: 1, reapedSessions: 2, settled: 1 });
    expect(await store.counts()).toEqual({ sessions: 1, leaving: 0, nodes: 1 });
    await a.t.stop();
  });
});
