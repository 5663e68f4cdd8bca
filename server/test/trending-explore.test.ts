import { newId, shardOfId } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exploreParts } from '../src/capabilities/explore/parts.js';
import { readExplore } from '../src/capabilities/explore/read.js';
import { decayedValue } from '../src/capabilities/trending/decay.js';
import type { ShutterNode } from '../src/node.js';
import { bruteExplorable, brutePicks, brutePopular, bruteTrending } from './fixtures/discovery.js';
import { insertBlock, insertFollow, makePost } from './fixtures/posts.js';
import { http, makeUser, makeUsers, shardIn, type TestUser } from './fixtures/social.js';
import { countQueries } from './helpers/count-queries.js';
import { TcpProxy } from './helpers/tcp-proxy.js';
import { startTestNode } from './helpers/test-node.js';
import { sleep, until } from './helpers/wait.js';
import { redisUrl } from './services.js';

/**
 * Trending and explore on one node over two databases, its Redis reached
 * through a proxy the test can cut: trending's order and hashtags equal a
 * brute-force sum of decayed likes and comments; explore's recommendations
 * equal a brute-force collaborative filter, pages never show what the
 * viewer has seen, liked, wrote, or may not see; and every part falls back
 * to popular posts (equal to brute force too) when Redis is unreachable or
 * the recommendations are not computed yet.
 */
const HALF_LIFE_MS = 2000;
const W = { like: 1, comment: 3 };
const BUDGET_MS = 100;
const CACHE_MS = 50;
let node: ShutterNode;
let proxy: TcpProxy;

beforeAll(async () => {
  proxy = await new TcpProxy(Number(new URL(redisUrl).port || 6379)).start();
  node = await startTestNode('ws', {
    REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
    TRENDING_HALF_LIFE_SECONDS: String(HALF_LIFE_MS / 1000),
    TRENDING_LIKE_WEIGHT: String(W.like),
    TRENDING_COMMENT_WEIGHT: String(W.comment),
    TRENDING_FLUSH_MS: '50',
    TRENDING_CACHE_MS: String(CACHE_MS),
    TRENDING_BUDGET_MS: String(BUDGET_MS),
    TRENDING_CACHE_BACKOFF_MS: '300',
    TRENDING_POPULAR_CACHE_MS: '200',
  });
});
afterAll(async () => {
  await node?.shutdown();
  await proxy?.close();
});

const like = async (u: TestUser, id: string) =>
  expect((await http(node, u, 'PUT', `/v1/posts/${id}/like`)).status).toBe(200);
const comment = async (u: TestUser, id: string) =>
  expect(
    (
      await http(node, u, 'POST', `/v1/posts/${id}/comments`, {
        commentId: newId(shardOfId(id) as number),
        text: 'nice',
      })
    ).status,
  ).toBe(201);
const trending = (u: TestUser, q = '') => http(node, u, 'GET', `/v1/trending${q}`);
const explore = (u: TestUser, q = '') => http(node, u, 'GET', `/v1/explore${q}`);

/**
 * Whether trending's answer is the brute force now: the same posts, each no
 * less than the next, and the stored set holds exactly those (a deleted
 * post has left it, not only been hidden by hydration).
 */
async function matchesBrute(viewer: TestUser) {
  const r = await trending(viewer, '?limit=50');
  const brute = await bruteTrending(node, { now: Date.now(), halfLifeMs: HALF_LIFE_MS, ...W });
  const worth = new Map(brute.posts);
  const stored = (await node.ports.trending.top('posts', { limit: 100 })).map((x) => x.member);
  if (stored.some((id) => !worth.has(id))) return undefined;
  const ids = r.body.posts.map((p: { id: string }) => p.id);
  const ordered = ids.every(
    (id: string, i: number) =>
      i === 0 || (worth.get(ids[i - 1]) as number) >= (worth.get(id) as number) * (1 - 1e-6),
  );
  const same =
    r.body.source === 'trending' &&
    ordered &&
    [...ids].sort().join() ===
      brute.posts
        .map(([id]) => id)
        .sort()
        .join();
  return same ? { r, brute } : undefined;
}

describe('GET /v1/trending', () => {
  it('ranks posts and hashtags as a brute-force sum of decayed likes and comments says', async () => {
    const authors = [
      await makeUser(node, { shard: shardIn(node, 0) }),
      await makeUser(node, { shard: shardIn(node, 1) }),
    ];
    const hidden = await makeUser(node, { private: true });
    const fans = await makeUsers(node, 8);
    await insertFollow(node, fans[0]!.id, hidden.id);
    const captions = ['#sea #sun', '#sea', '#cats', '#cats #sun', '#food', 'no tags'];
    const posts = await Promise.all(captions.map((c, i) => makePost(node, authors[i % 2]!, c)));
    const privatePost = await makePost(node, hidden, '#sea');
    const gone = await makePost(node, authors[0]!, '#cats');
    // Three rounds 400 ms apart (a fifth of a half-life): early engagement is worth less by the end.
    const rounds: [number, number, 'like' | 'comment'][][] = [
      [
        [0, 6, 'like'],
        [2, 3, 'like'],
        [5, 1, 'comment'],
      ],
      [
        [1, 4, 'like'],
        [3, 2, 'comment'],
        [4, 5, 'like'],
      ],
      [
        [2, 3, 'comment'],
        [3, 6, 'like'],
        [5, 2, 'like'],
      ],
    ];
    for (const round of rounds) {
      for (const [p, n, kind] of round)
        for (const fan of fans.slice(0, n))
          await (kind === 'like' ? like(fan, posts[p]!) : comment(fan, posts[p]!));
      await sleep(400);
    }
    await like(fans[0]!, privatePost);
    for (const fan of fans.slice(0, 7)) await like(fan, gone);
    expect((await http(node, authors[0], 'DELETE', `/v1/posts/${gone}`)).status).toBe(200);

    const viewer = fans[7]!;
    const { r, brute } = await until(() => matchesBrute(viewer), 5000, 'trending to equal brute force');
    expect(r.body.posts).toHaveLength(posts.length);
    expect(r.body.posts.map((p: { id: string }) => p.id)).not.toContain(privatePost);
    expect(r.body.posts.map((p: { id: string }) => p.id)).not.toContain(gone);
    expect(r.body.hashtags.map((t: { tag: string }) => t.tag)).toEqual(brute.tags.map(([t]) => t));
    // The stored scores are the brute-force worth (decayed to now), not just in the same order.
    const now = Date.now();
    const stored = await node.ports.trending.top('posts', { limit: 50 });
    const worth = new Map((await bruteTrending(node, { now, halfLifeMs: HALF_LIFE_MS, ...W })).posts);
    for (const s of stored)
      expect(decayedValue(s.score, now, HALF_LIFE_MS) / (worth.get(s.member) as number)).toBeCloseTo(1, 5);
    // Paging: two at a time, the same order, then the end.
    const paged: string[] = [];
    let cursor = '';
    do {
      const page = await trending(viewer, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.source).toBe('trending');
      paged.push(...page.body.posts.map((p: { id: string }) => p.id));
      cursor = page.body.nextCursor ?? '';
    } while (cursor);
    expect(paged).toEqual(r.body.posts.map((p: { id: string }) => p.id));
    expect((await trending(viewer, '?cursor=bm9wZQ')).body.error.code).toBe('invalid_cursor');
  });
});

describe('GET /v1/explore', () => {
  it('serves the fallback before the background computation ran, then recommendations equal to brute force, never what I have seen or may not see', async () => {
    const [me, x, priv, blocker, blockedByMe, ...others] = await makeUsers(node, 9);
    const [n1, n2, n3, n4] = others as TestUser[];
    await node.db.forId(priv!.id).query('UPDATE users SET private = true WHERE id = $1', [priv!.id]);
    await insertBlock(node, blocker!.id, me!.id);
    await insertBlock(node, me!.id, blockedByMe!.id);
    const seeds = [
      await makePost(node, x!, 's1'),
      await makePost(node, x!, 's2'),
      await makePost(node, x!, 's3'),
    ];
    const c = await Promise.all(['c1', 'c2', 'c3', 'c4'].map((t) => makePost(node, x!, t)));
    const hidden = [
      await makePost(node, priv!, 'p'),
      await makePost(node, blocker!, 'b'),
      await makePost(node, blockedByMe!, 'bb'),
    ];
    const mine = await makePost(node, me!, 'mine');
    for (const s of seeds) await like(me!, s);
    // n1 likes all three seeds, n2 two, n3 one, n4 none: their likes elsewhere weigh 3, 2, 1, 0.
    for (const [u, n] of [
      [n1, 3],
      [n2, 2],
      [n3, 1],
    ] as const)
      for (const s of seeds.slice(0, n)) await like(u!, s);
    await insertFollow(node, n1!.id, priv!.id);
    for (const p of [c[0]!, c[1]!, hidden[0]!, mine]) await like(n1!, p);
    for (const p of [c[1]!, c[2]!, hidden[1]!, hidden[2]!]) await like(n2!, p);
    for (const p of [c[2]!, c[3]!]) await like(n3!, p);
    await like(n4!, c[3]!);

    // Not computed yet: the page is the fallback (popular posts in the personal slots, and trending ones), and asks for the computation.
    expect((await node.ports.explore.read(me!.id, Date.now())).picks).toBeUndefined();
    const first = await explore(me!);
    expect(first.status).toBe(200);
    expect(first.body.items.length).toBeGreaterThan(0);
    const sources = first.body.items.map((i: { source: string }) => i.source);
    expect(sources).not.toContain('personal');
    expect(sources[0]).toBe('popular');

    const expectedPicks = await brutePicks(node, me!.id);
    // The fixture: c2 is liked by n1 and n2 (3 + 2); seven more posts by one or two of them; n4 is like nobody.
    expect(expectedPicks[0]).toBe(c[1]);
    expect(expectedPicks).toHaveLength(8);
    const picks = await until(
      async () => (await node.ports.explore.read(me!.id, Date.now())).picks,
      5000,
      'picks',
    );
    expect(picks.ids).toEqual(expectedPicks);

    // I like c1 after the computation: it is left out at read.
    await like(me!, c[0]!);
    const shownBefore = new Set<string>(first.body.items.map((i: { post: { id: string } }) => i.post.id));
    const seen: { id: string; source: string }[] = [];
    let cursor = '';
    do {
      const page = await explore(me!, `?limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(
        ...page.body.items.map((i: { post: { id: string }; source: string }) => ({
          id: i.post.id,
          source: i.source,
        })),
      );
      cursor = page.body.nextCursor ?? '';
    } while (cursor);
    const ids = seen.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(shownBefore.has(id)).toBe(false);
    // Everything explore may show me, exactly once across both reads, nothing else (c1 may have been
    // shown before I liked it).
    expect(new Set([...shownBefore, ...ids].filter((id) => id !== c[0]))).toEqual(
      await bruteExplorable(node, me!.id),
    );
    for (const id of [...hidden, mine, c[0]!, ...seeds]) expect(ids).not.toContain(id);
    // Recommendations come in their order, less what was left out.
    const allowed = await bruteExplorable(node, me!.id);
    expect(seen.filter((s) => s.source === 'personal').map((s) => s.id)).toEqual(
      picks.ids.filter((id) => allowed.has(id) && !shownBefore.has(id)),
    );
    // All shown recently: a new read has nothing left.
    const again = await explore(me!);
    expect(again.body).toEqual({ items: [], nextCursor: null });
    expect((await explore(me!, '?cursor=WzEsMiwzXQ')).body.error.code).toBe('invalid_cursor');
  });

  it('reads a page with a bounded number of queries, whatever its size', async () => {
    const reader = await makeUser(node);
    const parts = exploreParts(node.ports);
    await readExplore(node.ports, parts, reader.id, { limit: 1 }); // asks for the picks
    await until(async () => (await node.ports.explore.read(reader.id, Date.now())).picks, 5000, 'picks');
    // Each read right after the node's popular list was gathered, so no refresh falls into the count.
    const page = async (limit: number) => {
      await parts.trending.popular.refresh();
      return countQueries(node, () => readExplore(node.ports, parts, reader.id, { limit }));
    };
    const small = await page(2);
    const big = await page(12);
    expect(big.result.items.length).toBeGreaterThanOrEqual(3 * small.result.items.length);
    // Hydration's fixed set: per database holding some of the page, its posts, their authors and my
    // likes among them; my graph rows (my database); the media (the home database). Nothing per item.
    const bound = 3 * node.db.all.length + 2;
    expect(small.total).toBeLessThanOrEqual(bound);
    expect(big.total).toBeLessThanOrEqual(bound);
  });
});

describe('when Redis is unreachable', () => {
  it('trending and explore answer popular posts (equal to brute force) within the budget; the counts catch up after', async () => {
    const viewer = await makeUser(node);
    const author = await makeUser(node);
    const late = await makePost(node, author, '#late');
    await until(
      async () => {
        const r = await trending(viewer, '?limit=50');
        return r.body.source === 'trending' && r;
      },
      5000,
      'trending',
    );
    const popular = await until(
      async () => {
        const expected = await brutePopular(node, W);
        // While Redis answers, the popular list refreshes in the background: ask it directly.
        const list = await exploreParts(node.ports).trending.popular.get();
        return list.posts.map((p) => p.member).join() === expected.join() && expected;
      },
      5000,
      'popular to refresh',
    );

    proxy.stall(); // every byte to and from Redis stops: calls hang, as on a dead network
    try {
      await sleep(CACHE_MS + 20); // the node's copy of the trending top expires: the next read asks Redis
      const t0 = performance.now();
      const r = await trending(viewer, '?limit=50');
      const ms = performance.now() - t0;
      expect(r.body.source).toBe('popular');
      expect(r.body.posts.map((p: { id: string }) => p.id)).toEqual(popular.slice(0, 50));
      expect(ms).toBeLessThan(BUDGET_MS + 400);
      const e = await explore(viewer, '?limit=10');
      expect(e.status).toBe(200);
      expect(e.body.items.length).toBe(10);
      expect(new Set(e.body.items.map((i: { source: string }) => i.source))).toEqual(new Set(['popular']));
      // A like still succeeds; its score waits for Redis.
      const t1 = performance.now();
      await like(viewer, late);
      expect(performance.now() - t1).toBeLessThan(1000);
    } finally {
      proxy.unstall();
      proxy.cut(); // the stalled connection goes; the client reconnects
    }
    const back = await until(() => matchesBrute(viewer), 8000, 'trending back, with the like made meanwhile');
    expect(back.r.body.posts.map((p: { id: string }) => p.id)).toContain(late);
  });
});
