import type { ShutterClient } from '@shutter/client-sdk';
import { parseDuration } from '../runner/duration.js';
import { atMost, zero } from '../runner/report/page-spec.js';
import { defineScenario, type RunnerContext } from '../runner/scenario.js';
import { seedSocial } from '../seed/social-seed.js';
import { withTargetDatabases } from '../seed/target-db.js';
import { type ServerSample, scrapeServer, slopePerHour } from './server-samples.js';

interface Data {
  readers: string[];
}

interface State {
  client: ShutterClient;
  seen: Set<number>;
  first: number;
  last: number;
  /** The client has read its first feed page (the rebuild). */
  pagesRead?: boolean;
}

const STREAM = 'topic:soak';

/**
 * A steady mixed load for a long time: is the server flat? Each VU is a
 * seeded user holding one socket, subscribed to a topic the runner
 * publishes on and scrolling its feed (a page every `feedEveryMs` on
 * average, each wait drawn from half to one and a half times it); the
 * runner samples the node's own figures (`/metrics`: RSS, V8 heap in use,
 * event-loop delay p99) every `sampleSeconds`, and every `gcEverySeconds`
 * RSS and the heap in use right after full GCs (the runner's hook). The
 * verdict: how fast those retained figures grow over the second half of
 * the run (least squares, MB an hour; the first half is warm-up: caches
 * filling, JIT, pools), the worst event-loop p99, and no topic event lost.
 */
export default defineScenario<
  {
    users: number;
    clients: number;
    duration: string;
    feedEveryMs: number;
    publishPerSecond: number;
    sampleSeconds: number;
    /** Seconds between readings after full GCs (what the growth is measured on). */
    gcEverySeconds: number;
    /** Thresholds: growth over the second half, MB an hour; the worst event-loop p99 sample, ms. */
    rssGrowthMbPerHour: number;
    heapGrowthMbPerHour: number;
    eventLoopP99Ms: number;
    transport: string;
  },
  Data,
  State
>({
  name: 'soak',
  description: 'a steady mixed load for a long time: RSS, heap and event-loop delay over time, flat or not',
  params: {
    users: 5000,
    clients: 500,
    duration: '30m',
    feedEveryMs: 5000,
    publishPerSecond: 10,
    sampleSeconds: 10,
    gcEverySeconds: 60,
    rssGrowthMbPerHour: 32,
    heapGrowthMbPerHour: 16,
    eventLoopP99Ms: 100,
    transport: 'uws',
  },
  smoke: {
    users: 200,
    clients: 10,
    duration: '12s',
    feedEveryMs: 500,
    sampleSeconds: 1,
    gcEverySeconds: 3,
    // A smoke run checks function: its seconds are all warm-up.
    rssGrowthMbPerHour: 1e9,
    heapGrowthMbPerHour: 1e9,
    eventLoopP99Ms: 5000,
  },
  report: {
    variant: ['duration', 'clients'],
    columns: [
      { label: 'RSS at the end', metric: 'server_rss_bytes', stat: 'value', format: 'bytes' },
      {
        label: 'RSS growth, 2nd half (MB/h)',
        metric: 'server_rss_growth_mb_per_hour',
        stat: 'value',
        format: 'ratio',
      },
      {
        label: 'heap growth, 2nd half (MB/h)',
        metric: 'server_heap_growth_mb_per_hour',
        stat: 'value',
        format: 'ratio',
      },
      {
        label: 'worst event-loop p99',
        metric: 'server_eventloop_p99_ms',
        stat: 'max',
        format: 'ms',
        target: () => atMost(100, '100 ms'),
      },
      {
        label: 'feed page p99',
        metric: 'feed_page_ms',
        stat: 'p(99)',
        format: 'ms',
        target: () => atMost(50, '50 ms'),
      },
      // Each client's first page rebuilds its feed from Postgres, all clients within the first seconds.
      { label: 'first page p99 (rebuild)', metric: 'feed_first_page_ms', stat: 'p(99)', format: 'ms' },
      { label: 'events lost', metric: 'events_missing', stat: 'count', format: 'count', target: () => zero },
    ],
  },
  options: (p) => ({
    executor: { executor: 'constant-vus', vus: p.clients, duration: p.duration, gracefulStop: '10s' },
    thresholds: {
      checks: ['rate==1'],
      server_rss_growth_mb_per_hour: [`value<${p.rssGrowthMbPerHour}`],
      server_heap_growth_mb_per_hour: [`value<${p.heapGrowthMbPerHour}`],
      server_eventloop_p99_ms: [`max<${p.eventLoopP99Ms}`],
      events_missing: ['count==0'],
      feed_page_errors: ['count==0'],
    },
    needsOwnNode: true,
    nodeEnv: { MAX_CONNECTIONS: String(p.clients + 500) },
    progress: [
      'server_rss_bytes',
      'server_eventloop_p99_ms',
      'feed_page_ms',
      'feed_first_page_ms',
      'events_received',
    ],
  }),

  async setup(ctx) {
    return withTargetDatabases(ctx.target, 'soak', async (db) => {
      const p = ctx.params;
      const seeded = await seedSocial(db, {
        users: p.users,
        followsPerUser: 10,
        postsPerUser: 5,
        celebrities: 1,
        celebrityFollowers: Math.floor(p.users / 5),
        days: 30,
        seed: 23,
      });
      ctx.log(`  seeded ${seeded.users.length} users, ${seeded.edges} edges, ${seeded.posts} posts`);
      const readers: string[] = [];
      for (let i = seeded.celebrities.length; readers.length < p.clients && i < seeded.users.length; i++)
        readers.push(seeded.users[i]!.id);
      return { readers };
    });
  },

  async run(ctx) {
    const p = ctx.params;
    const endAt = Date.now() + parseDuration(p.duration);
    const samples: ServerSample[] = [];
    const collected: Collected[] = [];
    let i = 0;
    const publisher = (async () => {
      // Stops 3 s before the VUs do, so every VU has the last event before it reports.
      while (!ctx.abort.aborted && Date.now() < endAt - 3000) {
        await ctx.target
          .publish(STREAM, { i: i++ })
          .catch(() => ctx.metrics.counter('publish_errors').add(1));
        await new Promise((r) => setTimeout(r, 1000 / p.publishPerSecond));
      }
    })();
    let nextGcAt = Date.now() + p.gcEverySeconds * 1000;
    while (!ctx.abort.aborted && Date.now() < endAt) {
      await sample(ctx, samples);
      if (Date.now() >= nextGcAt) {
        await collect(ctx, collected);
        nextGcAt += p.gcEverySeconds * 1000;
      }
      await new Promise((r) =>
        setTimeout(r, Math.min(p.sampleSeconds * 1000, Math.max(0, endAt - Date.now()))),
      );
    }
    await sample(ctx, samples);
    await publisher;
    ctx.metrics.counter('events_published').add(i);
    await collect(ctx, collected);
    // Growth over the second half, from the readings after full GCs: what the node retains. The
    // /metrics samples catch the heap anywhere in its GC cycle (34–144 MiB in a 30-minute run whose
    // retained heap stayed at 34–49), so their slope over 15 minutes was mostly that noise.
    const from = (collected[0]?.t ?? 0) + ((collected.at(-1)?.t ?? 0) - (collected[0]?.t ?? 0)) / 2;
    const half = collected.filter((c) => c.t >= from);
    const mb = (k: 'rss' | 'heapUsed') => slopePerHour(half.map((c) => ({ t: c.t, v: c[k] / 1e6 })));
    if (half.length >= 2) {
      ctx.metrics.gauge('server_rss_growth_mb_per_hour').set(mb('rss'));
      ctx.metrics.gauge('server_heap_growth_mb_per_hour').set(mb('heapUsed'));
    }
    ctx.check('the node answered /metrics throughout', samples.length >= 2, `${samples.length} samples`);
    ctx.check(
      'readings after full GCs over the second half',
      half.length >= 2,
      `${half.length} of ${collected.length}`,
    );
  },

  async iteration(vu) {
    if (!vu.state.client) {
      const me = vu.data.readers[(vu.id - 1) % vu.data.readers.length]!;
      const client = vu.client({ sub: me });
      const seen = new Set<number>();
      const st: State = { client, seen, first: -1, last: -1 };
      vu.state = st;
      client.subscribe<{ i: number }>(STREAM, (e) => {
        const n = e.data.i;
        if (st.first < 0) st.first = n;
        st.last = Math.max(st.last, n);
        seen.add(n);
        vu.metrics.counter('events_received').add();
      });
      client.connect();
      await client.ready(30_000);
    }
    const client = vu.state.client!;
    const first = !vu.state.pagesRead;
    vu.state.pagesRead = true;
    const t = performance.now();
    try {
      const page = await client.api.feed.get({ limit: 20 });
      // The first page of each client (its feed rebuilt from Postgres) apart from the steady ones, as feed-scroll does.
      vu.metrics.trend(first ? 'feed_first_page_ms' : 'feed_page_ms').add(performance.now() - t);
      vu.check('a feed page', Array.isArray(page.items));
    } catch {
      vu.metrics.counter('feed_page_errors').add();
    }
    vu.metrics.counter('feed_page_errors').add(0);
    // Half to one and a half times the period (mean `feedEveryMs`): phones do not read in step. With a fixed
    // period the 500 clients, started together, stayed in step: ~200 pages in one second, ~3 in the next.
    await vu.sleep(Number(vu.params.feedEveryMs) * (0.5 + Math.random()));
  },

  vuTeardown(vu) {
    const st = vu.state;
    // Every event between the first and the last this VU saw (it subscribed at some point in the stream).
    if (st.seen && st.first !== undefined && st.last !== undefined && st.first >= 0) {
      const expected = st.last - st.first + 1;
      vu.metrics.counter('events_missing').add(expected - st.seen.size);
    } else vu.metrics.counter('events_missing').add(0);
    st.client?.disconnect();
  },
});

/** RSS and the JS heap in use right after full GCs, at `t` (ms). */
interface Collected {
  t: number;
  rss: number;
  heapUsed: number;
}

/** Full GCs on the node (the runner's hook), then RSS and heap in use: what it retains. */
async function collect(ctx: RunnerContext<{ sampleSeconds: number }>, into: Collected[]): Promise<void> {
  const r = await ctx.target.settledRss(0).catch(() => undefined);
  if (!r) return;
  into.push({ t: Date.now(), rss: r.rss, heapUsed: r.heapUsed });
  ctx.metrics.gauge('server_rss_after_gc_bytes').set(r.rss);
  ctx.metrics.gauge('server_heap_after_gc_bytes').set(r.heapUsed);
}

async function sample(ctx: RunnerContext<{ sampleSeconds: number }>, into: ServerSample[]): Promise<void> {
  const s = await scrapeServer(ctx.target.httpUrl).catch(() => undefined);
  if (!s) return void ctx.metrics.counter('metrics_scrape_errors').add(1);
  into.push(s);
  ctx.metrics.gauge('server_rss_bytes').set(s.rss);
  ctx.metrics.gauge('server_heap_used_bytes').set(s.heapUsed);
  ctx.metrics.gauge('server_eventloop_p99_ms').set(s.eventLoopP99Ms);
}
