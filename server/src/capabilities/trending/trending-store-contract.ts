import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../testing/seeded-random.js';
import { combine, decayedValue, eventLog, logAdd } from './decay.js';
import type { Ranked, ScoreChange, TrendingStore } from './trending-store.js';

const NONE = Number.NEGATIVE_INFINITY;
const LIMITS = { maxPosts: 1000, maxTags: 1000 };
const HOUR = 3_600_000;
const HALF_LIFE = 6 * HOUR;
const T = Date.UTC(2026, 5, 1);

const plus = (member: string, add: number): ScoreChange => ({ member, add, sub: NONE });

async function all(store: TrendingStore, set: 'posts' | 'tags'): Promise<Ranked[]> {
  return store.top(set, { limit: 100_000 });
}

function expectClose(actual: Ranked[], expected: Ranked[]): void {
  expect(actual.map((r) => r.member)).toEqual(expected.map((r) => r.member));
  actual.forEach((r, i) => {
    expect(r.score).toBeCloseTo((expected[i] as Ranked).score, 9);
  });
}

/** The contract every `TrendingStore` adapter passes (see the port's comment). `open` gives an empty store. */
export function trendingStoreContract(name: string, open: () => Promise<TrendingStore>) {
  describe(`TrendingStore contract: ${name}`, () => {
    it('orders members by their decayed worth, as a brute-force sum of every event says, at any time', async () => {
      const store = await open();
      const rand = seededRandom(7);
      const worth = new Map<string, number>();
      const now = T + 72 * HOUR;
      // 300 events on 40 posts over three days, weights 1 and 3, in batches of 30.
      for (let b = 0; b < 10; b++) {
        const batch = new Map<string, number>();
        for (let k = 0; k < 30; k++) {
          const member = `p${Math.floor(rand() ** 2 * 40)}`;
          const w = rand() < 0.25 ? 3 : 1;
          const at = T + (b * 7.2 + rand() * 7.2) * HOUR;
          worth.set(member, (worth.get(member) ?? 0) + w * 2 ** (-(now - at) / HALF_LIFE));
          batch.set(member, logAdd(batch.get(member) ?? NONE, eventLog(w, at, HALF_LIFE)));
        }
        await store.apply(
          { posts: [...batch].map(([m, a]) => plus(m, a)), tags: [], removePosts: [] },
          LIMITS,
        );
      }
      const brute = [...worth].sort((a, b) => b[1] - a[1]);
      const stored = await all(store, 'posts');
      expect(stored.map((r) => r.member)).toEqual(brute.map(([m]) => m));
      for (const r of stored) {
        const value = decayedValue(r.score, now, HALF_LIFE);
        expect(Math.abs(value / (worth.get(r.member) as number) - 1)).toBeLessThan(1e-9);
      }
      await store.close();
    });

    it('applies combine: sums, subtractions, vanishing members, and nothing for a subtraction alone', async () => {
      const store = await open();
      const [a, b, c] = [
        eventLog(1, T, HALF_LIFE),
        eventLog(3, T + HOUR, HALF_LIFE),
        eventLog(1, T + 2 * HOUR, HALF_LIFE),
      ];
      await store.apply(
        { posts: [plus('x', a), plus('y', a), plus('z', a)], tags: [plus('cats', b)], removePosts: [] },
        LIMITS,
      );
      await store.apply(
        {
          posts: [
            { member: 'x', add: b, sub: NONE },
            { member: 'y', add: NONE, sub: c }, // more than it holds: gone
            { member: 'z', add: c, sub: c }, // a like and its unlike together
            { member: 'w', add: NONE, sub: a }, // absent: nothing
          ],
          tags: [{ member: 'cats', add: NONE, sub: a }],
          removePosts: [],
        },
        LIMITS,
      );
      const expected = (pairs: [string, number | undefined][]) =>
        pairs
          .filter((p): p is [string, number] => p[1] !== undefined)
          .map(([member, score]) => ({ member, score }))
          .sort((p, q) => q.score - p.score);
      expectClose(
        await all(store, 'posts'),
        expected([
          ['x', combine(a, b, NONE)],
          ['y', combine(a, NONE, c)],
          ['z', combine(a, c, c)],
        ]),
      );
      expect((await all(store, 'posts')).map((r) => r.member)).not.toContain('y');
      expectClose(await all(store, 'tags'), expected([['cats', combine(b, NONE, a)]]));
      await store.close();
    });

    it('removes gone posts, keeps the highest max of each set, and pages exactly across ties', async () => {
      const store = await open();
      const score = (i: number) => eventLog(1, T + (i % 5) * HOUR, HALF_LIFE); // five distinct scores, ties
      const posts = Array.from({ length: 15 }, (_, i) => plus(`m${i.toString().padStart(2, '0')}`, score(i)));
      const tags = Array.from({ length: 12 }, (_, i) => plus(`t${i}`, score(i)));
      await store.apply({ posts, tags, removePosts: [] }, { maxPosts: 10, maxTags: 20 });
      const order = (list: ScoreChange[]) =>
        [...list].sort((p, q) => q.add - p.add || (p.member < q.member ? 1 : -1)).map((c) => c.member);
      expect((await all(store, 'posts')).map((r) => r.member)).toEqual(order(posts).slice(0, 10));
      expect((await all(store, 'tags')).map((r) => r.member)).toEqual(order(tags));

      await store.apply({ posts: [], tags: [], removePosts: ['m14', 'none'] }, { maxPosts: 10, maxTags: 20 });
      const kept = order(posts)
        .slice(0, 10)
        .filter((m) => m !== 'm14');
      const paged: string[] = [];
      let after: Ranked | undefined;
      for (;;) {
        const page = await store.top('posts', { limit: 3, after });
        paged.push(...page.map((r) => r.member));
        if (page.length < 3) break;
        after = page.at(-1);
      }
      expect(paged).toEqual(kept);
      expect(await store.top('posts', { limit: 3, after: { member: 'zz', score: -1e9 } })).toEqual([]);
      await store.close();
    });
  });
}
