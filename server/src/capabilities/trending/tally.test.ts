import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../log.js';
import { seededRandom } from '../../testing/seeded-random.js';
import { decayedValue, VANISH_BELOW } from './decay.js';
import { MemoryTrendingStore } from './memory-trending-store.js';
import { EngagementTally, type PostFacts } from './tally.js';
import type { TrendingBatch, TrendingStore } from './trending-store.js';

const HOUR = 3_600_000;
const HALF_LIFE = 6 * HOUR;
const T0 = Date.UTC(2026, 5, 1);
const W = { like: 1, comment: 3 };

const TAGS = ['cats', 'dogs', 'sea', 'food'];
/** 20 posts: hashtags by index, p5 hidden (a private author). */
const FACTS = new Map<string, PostFacts>(
  Array.from({ length: 20 }, (_, i) => [
    `p${i}`,
    { hashtags: TAGS.filter((_, k) => i % (k + 2) === 0), hidden: i === 5 },
  ]),
);
const facts = async (ids: readonly string[]) =>
  new Map(ids.flatMap((id) => (FACTS.has(id) ? [[id, FACTS.get(id) as PostFacts] as const] : [])));

function tally(store: TrendingStore, maxPending = 1000) {
  return new EngagementTally(facts, store, {
    halfLifeMs: HALF_LIFE,
    likeWeight: W.like,
    commentWeight: W.comment,
    maxPosts: 1000,
    maxTags: 1000,
    maxPending,
    now: () => T0,
    log: silentLogger(),
  });
}

/**
 * The brute force: every set member's value in plain numbers (each event
 * worth w · 2^((t − T0) / H), no logarithms), applied flush by flush with
 * the same rule (a sum that vanishes leaves the set; a subtraction alone
 * does nothing to an absent member).
 */
class Brute {
  readonly posts = new Map<string, number>();
  readonly tags = new Map<string, number>();
  private batch = new Map<string, { add: number; sub: number }>();
  private removed = new Set<string>();

  event(postId: string, w: number, at: number, sign: 1 | -1): void {
    const v = w * 2 ** ((at - T0) / HALF_LIFE);
    const b = this.batch.get(postId) ?? { add: 0, sub: 0 };
    if (sign > 0) b.add += v;
    else b.sub += v;
    this.batch.set(postId, b);
  }

  deleted(postId: string): void {
    this.batch.delete(postId);
    this.removed.add(postId);
  }

  flush(): void {
    const tagBatch = new Map<string, { add: number; sub: number }>();
    for (const [id, b] of this.batch) {
      const f = FACTS.get(id);
      if (!f || f.hidden || this.removed.has(id)) continue;
      apply(this.posts, id, b);
      for (const t of f.hashtags) {
        const tb = tagBatch.get(t) ?? { add: 0, sub: 0 };
        tb.add += b.add;
        tb.sub += b.sub;
        tagBatch.set(t, tb);
      }
    }
    for (const [t, b] of tagBatch) apply(this.tags, t, b);
    for (const id of this.removed) this.posts.delete(id);
    this.batch = new Map();
    this.removed = new Set();
  }

  /** Members highest first (ties: the greater member first, as the stores rank), valued at `now`. */
  ranked(set: Map<string, number>, now: number): [string, number][] {
    return [...set]
      .map(([m, v]): [string, number] => [m, v * 2 ** (-(now - T0) / HALF_LIFE)])
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1));
  }
}

function apply(set: Map<string, number>, member: string, b: { add: number; sub: number }): void {
  const cur = set.get(member);
  if (cur === undefined && b.add === 0) return;
  const total = (cur ?? 0) + b.add - b.sub;
  const largest = Math.max(cur ?? 0, b.add, b.sub);
  if (total <= VANISH_BELOW * largest) set.delete(member);
  else set.set(member, total);
}

async function expectLikeBrute(store: TrendingStore, brute: Brute, now: number): Promise<void> {
  for (const set of ['posts', 'tags'] as const) {
    const stored = await store.top(set, { limit: 1000 });
    const expected = brute.ranked(set === 'posts' ? brute.posts : brute.tags, now);
    expect(stored.map((r) => r.member)).toEqual(expected.map(([m]) => m));
    stored.forEach((r, i) => {
      const value = decayedValue(r.score, now, HALF_LIFE);
      expect(Math.abs(value / (expected[i] as [string, number])[1] - 1)).toBeLessThan(1e-9);
    });
  }
}

describe('EngagementTally', () => {
  it('keeps posts and hashtags in the order brute force gives: likes, unlikes, comments, deletions, hidden posts, days apart', async () => {
    const store = new MemoryTrendingStore();
    const t = tally(store);
    const brute = new Brute();
    const rand = seededRandom(3);
    const likes = new Map<string, number>();
    let at = T0;
    for (let flush = 0; flush < 24; flush++) {
      for (let k = 0; k < 25; k++) {
        at += rand() * 0.25 * HOUR;
        const post = `p${Math.floor(rand() ** 1.5 * 20)}`;
        const r = rand();
        if (r < 0.55) {
          t.like(post, at);
          brute.event(post, W.like, at, 1);
          likes.set(post, (likes.get(post) ?? 0) + 1);
        } else if (r < 0.7 && (likes.get(post) ?? 0) > 0) {
          t.unlike(post, at);
          brute.event(post, W.like, at, -1);
          likes.set(post, (likes.get(post) ?? 0) - 1);
        } else if (r < 0.95) {
          t.comment(post, at);
          brute.event(post, W.comment, at, 1);
        } else {
          t.uncomment(post, at);
          brute.event(post, W.comment, at, -1);
        }
      }
      if (flush === 10) {
        t.deleted('p3');
        brute.deleted('p3');
      }
      await t.flush();
      brute.flush();
    }
    expect(brute.posts.size).toBeGreaterThan(10);
    expect(brute.posts.has('p5')).toBe(false);
    await expectLikeBrute(store, brute, at);
    await expectLikeBrute(store, brute, at + 48 * HOUR); // the order never changes with time alone
  });

  it('sums a hot post into one change per write, and keeps changes whose write failed for the next', async () => {
    const memory = new MemoryTrendingStore();
    const batches: TrendingBatch[] = [];
    let fail = true;
    const store: TrendingStore = {
      kind: 'memory',
      apply: async (batch, limits) => {
        batches.push(batch);
        if (fail) {
          fail = false;
          throw new Error('cache down');
        }
        await memory.apply(batch, limits);
      },
      top: (set, opts) => memory.top(set, opts),
      close: () => memory.close(),
    };
    const t = tally(store);
    const brute = new Brute();
    for (let i = 0; i < 10_000; i++) {
      t.like('p0', T0 + i);
      brute.event('p0', W.like, T0 + i, 1);
    }
    await t.flush(); // fails: kept
    expect(t.size).toBe(1);
    t.comment('p2', T0 + 20_000);
    brute.event('p2', W.comment, T0 + 20_000, 1);
    await t.flush();
    brute.flush();
    expect(batches.map((b) => b.posts.length)).toEqual([1, 2]);
    expect(t.size).toBe(0);
    await expectLikeBrute(memory, brute, T0 + 30_000);
  });

  it('holds at most maxPending posts; changes of further posts are dropped', async () => {
    const store = new MemoryTrendingStore();
    const t = tally(store, 3);
    for (const p of ['p0', 'p1', 'p2', 'p4', 'p6']) t.like(p, T0);
    t.like('p0', T0 + 1);
    expect(t.size).toBe(3);
    await t.flush();
    expect((await store.top('posts', { limit: 10 })).map((r) => r.member).sort()).toEqual(['p0', 'p1', 'p2']);
  });
});
