import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ShutterClient } from '@shutter/client-sdk';
import { PgSql } from '@shutter/server/sql';
import { atMost, zero } from '../runner/report/page-spec.js';
import { defineScenario } from '../runner/scenario.js';
import { explainLists } from '../seed/search-explain.js';
import { CITIES, FIRST_NAMES, SYLLABLES, seedSearch, TAGS, VOCABULARY } from '../seed/search-seed.js';

interface Data {
  viewers: string[];
  captions: string[];
  tags: string[];
  names: string[];
  places: [number, number, number][];
}

interface State {
  client: ShutterClient;
}

/** What each query kind records: its latency trend. */
const KINDS = [
  { kind: 'caption', metric: 'search_posts_ms' },
  { kind: 'tag', metric: 'tag_page_ms' },
  { kind: 'users', metric: 'search_users_ms' },
  { kind: 'places', metric: 'places_ms' },
] as const;

const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)] as T;

/**
 * Search and places at a million posts (issue 11: "search and places p99 at
 * 1 000 000 posts"): the node on two databases (logical shards 0–511 in
 * `shardA`, 512–1023 in `shardB`, as test nodes run), `posts` posts and
 * `users` users bulk-loaded into its namespace with `generate_series`
 * (`seed/search-seed.ts`), dropped with the namespace at the end. Then VUs
 * (seeded users who follow a few hundred others) ask the four lists over
 * the socket in turn: caption search (common, rare and two-word queries),
 * a hashtag page (recent or top, tags skewed as posted), user search (name
 * prefixes of 2–6 characters) and posts near a city or anywhere (radius
 * 0.5–50 km); first pages of 20, hydrated. Each list's latency, the pages
 * answered partial (a database later than SEARCH_BUDGET_MS) and errors.
 * Before the VUs start, each database's part of every list is EXPLAINed
 * (ANALYZE) on the seeded data: the plans go to
 * `search-places-explain-<time>.txt` beside the results.
 */
export default defineScenario<
  {
    posts: number;
    users: number;
    viewers: number;
    followsPerViewer: number;
    vus: number;
    duration: string;
    thinkMs: number;
    limit: number;
    shardA: string;
    shardB: string;
    /** Threshold on each list's p99 (ms); loose in smoke runs, which check function, not speed. */
    p99Ms: number;
    transport: string;
  },
  Data,
  State
>({
  name: 'search-places',
  description:
    'caption search, hashtag pages, user search and places over two databases at 1 000 000 posts: p99 of each',
  params: {
    posts: 1_000_000,
    users: 100_000,
    viewers: 64,
    followsPerViewer: 300,
    vus: 4,
    duration: '40s',
    thinkMs: 10,
    limit: 20,
    shardA: 'postgres://postgres@127.0.0.1:5432/test',
    shardB: 'postgres://postgres@127.0.0.1:5432/test_shard_b',
    p99Ms: 100,
    transport: 'uws',
  },
  smoke: {
    posts: 20_000,
    users: 2_000,
    viewers: 4,
    followsPerViewer: 20,
    vus: 2,
    duration: '3s',
    p99Ms: 5000,
  },
  report: {
    variant: ['posts', 'users'],
    columns: [
      { label: 'lists', metric: 'search_requests', stat: 'rate', format: 'per-second' },
      // Issue 11: search and places p99 at 1 000 000 posts; our target, a list a person waits for: ≤ 100 ms.
      ...KINDS.map((k) => ({
        label: `${k.kind} p99`,
        metric: k.metric,
        stat: 'p(99)',
        format: 'ms' as const,
        target: () => atMost(100, '100 ms'),
      })),
      { label: 'partial', metric: 'search_partial', stat: 'count', format: 'count', target: () => zero },
      { label: 'errors', metric: 'search_errors', stat: 'count', format: 'count', target: () => zero },
    ],
  },
  options: (p) => ({
    executor: { executor: 'constant-vus', vus: p.vus, duration: p.duration, gracefulStop: '5s' },
    thresholds: {
      checks: ['rate==1'],
      ...Object.fromEntries(KINDS.map((k) => [k.metric, [`p(99)<${p.p99Ms}`]])),
      search_partial: ['count==0'],
      search_errors: ['count==0'],
    },
    needsOwnNode: true,
    nodeEnv: {
      // Two databases, as test nodes run: the namespace's schema is made in both and dropped from both.
      DATABASE_URL: '',
      DATABASE_SHARDS: `0-511=${p.shardA},512-1023=${p.shardB}`,
    },
    progress: [...KINDS.map((k) => k.metric), 'search_partial', 'search_errors'],
  }),

  async setup(ctx) {
    const p = ctx.params;
    const ns = ctx.target.database?.namespace;
    if (!ns) throw new Error('search-places seeds its data into the databases: run it without --url');
    for (const url of [p.shardA, p.shardB])
      if (!/^127\./.test(new URL(url).hostname))
        throw new Error(`search-places: ${url} is not on loopback (127.0.0.0/8)`);
    const dbs: [PgSql, PgSql] = [new PgSql(p.shardA, ns, 2), new PgSql(p.shardB, ns, 2)];
    try {
      const seeded = await seedSearch(dbs, {
        users: p.users,
        posts: p.posts,
        viewers: p.viewers,
        followsPerViewer: p.followsPerViewer,
        progress: (line) => ctx.log(line),
      });
      ctx.log(`  seeded ${p.posts} posts, ${p.users} users in ${(seeded.ms / 1000).toFixed(1)} s`);
      const plans = await explainLists(dbs, seeded.viewers[0] as string);
      const file = join(
        ctx.resultsDir,
        `search-places-explain-${new Date().toISOString().replace(/[:.]/g, '-')}.txt`,
      );
      if (!ctx.smoke) {
        mkdirSync(ctx.resultsDir, { recursive: true });
        writeFileSync(file, plans.text);
        ctx.log(`  plans: ${file}`);
      }
      for (const line of plans.summary) ctx.log(`  ${line}`);
      return {
        viewers: seeded.viewers,
        captions: [
          ...VOCABULARY.slice(0, 30),
          ...VOCABULARY.slice(200, 1000).filter((_, i) => i % 20 === 0),
          ...VOCABULARY.slice(0, 20).map((w, i) => `${w} ${VOCABULARY[50 + i * 7]}`),
        ],
        tags: TAGS.slice(0, 300).filter((_, i) => i < 30 || i % 5 === 0),
        names: [
          ...SYLLABLES,
          ...SYLLABLES.flatMap((a) => SYLLABLES.slice(0, 4).map((b) => a + b)),
          ...SYLLABLES.slice(0, 8).map((a) => a + SYLLABLES[3] + SYLLABLES[5]),
          ...FIRST_NAMES.map((n) => n.slice(0, 3)),
          ...FIRST_NAMES.slice(0, 10).map((n) => `${n.toLowerCase()} `),
        ],
        places: [
          ...CITIES.slice(0, 20).flatMap(([lat, lon]) =>
            [500, 2000, 5000, 20_000, 50_000].map((r): [number, number, number] => [lat, lon, r]),
          ),
          [0, 0, 5000],
          [60, -30, 50_000],
          [-17.7134, 179.999, 20_000],
        ],
      };
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  },

  async iteration(vu) {
    if (!vu.state.client) {
      const me = vu.data.viewers[(vu.id - 1) % vu.data.viewers.length] as string;
      const client = vu.client({ sub: me });
      vu.state.client = client;
      client.connect();
      await client.ready(30_000);
    }
    const client = vu.state.client;
    const limit = Number(vu.params.limit);
    const { kind, metric } = KINDS[vu.iteration % KINDS.length] as (typeof KINDS)[number];
    const t = performance.now();
    try {
      let partial: boolean;
      if (kind === 'caption') {
        partial = (await client.api.search.posts({ q: pick(vu.data.captions), limit })).partial;
      } else if (kind === 'tag') {
        const sort = Math.random() < 0.7 ? 'recent' : 'top';
        partial = (await client.api.search.tagPosts({ tag: pick(vu.data.tags), sort, limit })).partial;
      } else if (kind === 'users') {
        partial = (await client.api.search.users({ q: pick(vu.data.names), limit })).partial;
      } else {
        const [lat, lon, radius] = pick(vu.data.places);
        partial = (await client.api.places.posts({ lat, lon, radius, limit })).partial;
      }
      vu.metrics.trend(metric).add(performance.now() - t);
      vu.metrics.counter('search_requests').add();
      vu.metrics.counter('search_partial').add(partial ? 1 : 0);
      vu.check('a list answers in full', !partial);
    } catch (e) {
      vu.metrics.counter('search_errors').add();
      vu.check('a list answers', false);
      throw e;
    }
    vu.metrics.counter('search_errors').add(0);
    await vu.sleep(Number(vu.params.thinkMs));
  },

  vuTeardown(vu) {
    vu.state.client?.disconnect();
  },
});
