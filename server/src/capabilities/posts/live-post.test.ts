import type { PostCountsEvent } from '@shutter/protocol';
import { describe, expect, it } from 'vitest';
import { LivePost, type LiveTimer, type LiveTimers } from './live-post.js';

/** A live post on a simulated clock, its timers kept the way its actor keeps them. */
function world(intervalMs = 250, sweepMs = 100) {
  const live = new LivePost(intervalMs, sweepMs);
  let now = 0;
  const timers = new Map<LiveTimer, number>();
  const t: LiveTimers = {
    set: (name, delay) => void timers.set(name, now + delay),
    cancel: (name) => void timers.delete(name),
  };
  const row = { likes: 0, comments: 0 };
  const sent: (PostCountsEvent & { at: number })[] = [];
  const reads = { n: 0 };
  /** Fires due timers in time order up to `to`. */
  const runTo = async (to: number) => {
    for (;;) {
      const next = [...timers].filter(([, at]) => at <= to).sort((a, b) => a[1] - b[1])[0];
      if (!next) break;
      const [name, at] = next;
      timers.delete(name);
      now = at;
      if (name === 'lapse') live.lapse(now, t);
      else
        await live.flush(
          () => now,
          t,
          async () => {
            reads.n++;
            return { ...row };
          },
          async (e) => sent.push({ ...e, at: now }),
        );
    }
    now = to;
  };
  return { live, t, timers, row, sent, reads, runTo, now: () => now };
}

describe('LivePost', () => {
  it('counts viewers up and down and sends each change, coalesced', async () => {
    const w = world();
    w.live.view('a/1', 1000, w.now(), w.t);
    await w.runTo(0);
    expect(w.sent.at(-1)).toMatchObject({ viewers: 1 });
    w.live.view('b/1', 1000, w.now(), w.t);
    w.live.view('b/2', 1000, w.now(), w.t);
    // A renewal is not a new viewer.
    w.live.view('a/1', 1000, w.now(), w.t);
    await w.runTo(250);
    expect(w.sent.map((e) => [e.at, e.viewers])).toEqual([
      [0, 1],
      [250, 3],
    ]);
    w.live.leave('b/2', w.now(), w.t);
    w.live.leave('b/2', w.now(), w.t);
    await w.runTo(600);
    expect(w.sent.at(-1)).toMatchObject({ viewers: 2, at: 500 });
  });

  it('settles on the row as it is after a burst of changes, at most one update per interval', async () => {
    const w = world(250);
    w.live.view('a/1', 60_000, 0, w.t);
    for (let ms = 0; ms < 3000; ms += 7) {
      await w.runTo(ms);
      w.row.likes++;
      if (ms % 3 === 0) w.row.comments++;
      w.live.changed(w.now(), w.t);
    }
    await w.runTo(5000);
    const last = w.sent.at(-1)!;
    expect([last.likes, last.comments]).toEqual([w.row.likes, w.row.comments]);
    const gaps = w.sent.slice(1).map((e, i) => e.at - w.sent[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(250);
    expect(w.sent.length).toBeLessThanOrEqual(1 + Math.ceil(3000 / 250) + 1);
  });

  it('lapses viewers that were not renewed, and leaves no timer once nobody views', async () => {
    const w = world(250, 100);
    w.live.view('a/1', 1000, 0, w.t);
    w.live.view('b/1', 1000, 0, w.t);
    await w.runTo(500);
    w.live.view('a/1', 1000, w.now(), w.t); // a renews; b's node died
    await w.runTo(999);
    expect(w.live.viewerCount).toBe(2);
    await w.runTo(1000);
    expect(w.live.viewerCount).toBe(1);
    await w.runTo(1400);
    expect(w.sent.at(-1)).toMatchObject({ viewers: 1 });
    await w.runTo(1600);
    expect(w.live.viewerCount).toBe(0);
    await w.runTo(10_000);
    expect(w.live.idle).toBe(true);
    expect(w.timers.size).toBe(0);
  });

  it('changes nobody views cost nothing: no timer, no read', async () => {
    const w = world();
    for (let i = 0; i < 10; i++) w.live.changed(i, w.t);
    await w.runTo(1000);
    expect(w.timers.size).toBe(0);
    expect(w.reads.n).toBe(0);
    expect(w.live.idle).toBe(true);
    // The last viewer leaving sends nothing either (nobody is left to get it).
    w.live.view('a/1', 1000, w.now(), w.t);
    await w.runTo(1000);
    const sent = w.sent.length;
    w.live.leave('a/1', w.now(), w.t);
    await w.runTo(3000);
    expect(w.sent.length).toBe(sent);
    expect(w.timers.size).toBe(0);
    expect(w.live.idle).toBe(true);
  });

  it('a failed update is tried again after the interval and still settles', async () => {
    const live = new LivePost(100, 1000);
    let now = 0;
    const timers = new Map<LiveTimer, number>();
    const t: LiveTimers = {
      set: (n, d) => void timers.set(n, now + d),
      cancel: (n) => void timers.delete(n),
    };
    live.view('a/1', 60_000, now, t);
    let fail = true;
    const sent: PostCountsEvent[] = [];
    const flush = () =>
      live.flush(
        () => now,
        t,
        async () => {
          if (fail) throw new Error('database down');
          return { likes: 7, comments: 1 };
        },
        async (e) => sent.push(e),
      );
    await expect(flush()).rejects.toThrow('database down');
    expect(timers.get('flush')).toBe(100);
    fail = false;
    now = 100;
    await flush();
    expect(sent).toEqual([{ type: 'counts', likes: 7, comments: 1, viewers: 1 }]);
    timers.delete('flush');
    live.leave('a/1', now, t);
    expect(timers.size).toBe(0);
    expect(live.idle).toBe(true);
  });
});
