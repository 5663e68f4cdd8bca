import type { ShutterClient } from '@shutter/client-sdk';
import { newId, shardOfId, timeOfId } from '@shutter/protocol';
import { mintHs256 } from '../fanout/jwt.js';
import { atMost, zero } from '../runner/report/page-spec.js';
import { defineScenario } from '../runner/scenario.js';
import { seedStar } from '../seed/star.js';
import { withTargetDatabases } from '../seed/target-db.js';

interface Data {
  authorId: string;
  followerIds: string[];
  stream: 'feed' | 'author';
}

interface State {
  client: ShutterClient;
}

/**
 * One author with N online followers posts through the real post path
 * (`POST /v1/posts`: the post actor, the commit, the fan-out job, the
 * streams): post → delivery latency to every follower, measured from the
 * time in the post's id (made just before the request) to the event's
 * arrival at the follower's SDK handler. `--mode write` keeps the author
 * under the fan-out threshold (one event per follower's `user:<id>:feed`);
 * `--mode read` puts it over (one event on `author:<id>:posts`, which every
 * follower's client subscribes to). Followers are seeded straight into the
 * tables (both sides of each edge), so it needs a node the runner started.
 */
export default defineScenario<
  {
    followers: number;
    posts: number;
    gapMs: number;
    mode: string;
    /** Threshold on the delivery p99 (ms): DESIGN's Target by default; loose in smoke runs, which check function, not speed. */
    p99Ms: number;
    transport: string;
    codec: string;
  },
  Data,
  State
>({
  name: 'celebrity-post',
  description: 'an author with N online followers posts: post → delivery latency to each follower',
  params: {
    followers: 1000,
    posts: 5,
    gapMs: 2000,
    mode: 'write',
    p99Ms: 250,
    transport: 'uws',
    codec: 'msgpack',
  },
  smoke: { followers: 20, posts: 2, gapMs: 300, p99Ms: 5000 },
  report: {
    variant: ['mode', 'followers'],
    columns: [
      { label: 'delivery p50', metric: 'feed_delivery_ms', stat: 'med', format: 'ms' },
      // DESIGN.md "Targets": post → every online follower, p99 ≤ 250 ms, below and above the threshold.
      {
        label: 'delivery p99',
        metric: 'feed_delivery_ms',
        stat: 'p(99)',
        format: 'ms',
        target: () => atMost(250, '250 ms'),
      },
      { label: 'missing', metric: 'feed_missing', stat: 'count', format: 'count', target: () => zero },
      { label: 'twice', metric: 'feed_duplicates', stat: 'count', format: 'count', target: () => zero },
    ],
  },
  options: (p) => {
    if (p.mode !== 'write' && p.mode !== 'read') throw new Error('--mode: write or read');
    return {
      executor: {
        executor: 'per-vu-iterations',
        vus: p.followers,
        iterations: 1,
        maxDuration: `${Math.ceil((p.posts * p.gapMs) / 1000) + 180}s`,
      },
      thresholds: {
        checks: ['rate==1'],
        // DESIGN.md "Targets": post → every online follower, p99 ≤ 250 ms, below and above the threshold.
        feed_delivery_ms: [`p(99)<${p.p99Ms}`],
        feed_missing: ['count==0'],
        feed_duplicates: ['count==0'],
      },
      needsOwnNode: true,
      nodeEnv: {
        MAX_CONNECTIONS: String(p.followers + 500),
        // Over the threshold from one follower on (`read`), or never reaching it (`write`).
        FEED_FANOUT_THRESHOLD: p.mode === 'read' ? '1' : String(p.followers + 1),
      },
      progress: ['subscribed', 'feed_delivery_ms', 'feed_missing'],
    };
  },

  async setup(ctx) {
    return withTargetDatabases(ctx.target, 'celebrity-post', async (db) => {
      const t = Date.now();
      const star = await seedStar(db, ctx.params.followers, `star${Date.now().toString(36)}`);
      ctx.log(`  seeded an author and ${ctx.params.followers} followers in ${Date.now() - t} ms`);
      return {
        authorId: star.authorId,
        followerIds: star.followerIds,
        stream: ctx.params.mode === 'read' ? 'author' : 'feed',
        // The media item travels to `run` through the ids: one per author.
      } satisfies Data;
    });
  },

  async run(ctx, data) {
    const n = ctx.params.followers;
    const all = await ctx.until(() => ctx.live.gauge('subscribed') >= n, 120_000);
    if (!ctx.check('every follower online and subscribed', all, `${ctx.live.gauge('subscribed')}/${n}`))
      return;
    const token = mintHs256(ctx.target.secret, data.authorId, 3600);
    const postIds: string[] = [];
    for (let k = 0; k < ctx.params.posts && !ctx.abort.aborted; k++) {
      const id = newId(shardOfId(data.authorId) ?? 0);
      const res = await fetch(`${ctx.target.httpUrl}/v1/posts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id, mediaIds: [`star-${data.authorId}`], caption: `post ${k}` }),
      });
      ctx.check('the post is acknowledged (201)', res.status === 201, `${res.status} ${await res.text()}`);
      postIds.push(id);
      await new Promise((r) => setTimeout(r, ctx.params.gapMs));
    }
    // Every event in, or 30 s for the stragglers; then each follower counts what it missed.
    await ctx.until(() => ctx.live.counter('feed_events') >= n * postIds.length, 30_000);
    ctx.signal('done', postIds);
  },

  async iteration(vu) {
    const me = vu.data.followerIds[vu.id - 1];
    if (!me) throw new Error(`no follower for VU ${vu.id}`);
    const client = vu.client({ sub: me, codec: vu.params.codec === 'json' ? 'json' : 'msgpack' });
    vu.state.client = client;
    const stream = vu.data.stream === 'author' ? `author:${vu.data.authorId}:posts` : `user:${me}:feed`;
    const seen = new Set<string>();
    client.subscribe<{ type: string; post?: { id: string } }>(stream, (e) => {
      const id = e.data.post?.id;
      if (e.data.type !== 'post' || !id) return;
      const at = Date.now();
      if (seen.has(id)) return vu.metrics.counter('feed_duplicates').add();
      seen.add(id);
      vu.metrics.counter('feed_events').add();
      vu.metrics.trend('feed_delivery_ms').add(at - (timeOfId(id) ?? at));
    });
    client.connect();
    await client.ready(60_000);
    const t0 = Date.now();
    while (client.getSubscription(stream)?.state !== 'subscribed') {
      if (Date.now() - t0 > 60_000) throw new Error(`${stream}: not subscribed within 60 s`);
      if (!(await vu.sleep(20))) return;
    }
    vu.metrics.gauge('subscribed').add(1);
    vu.metrics.counter('feed_missing').add(0);
    vu.metrics.counter('feed_duplicates').add(0);
    const postIds = await vu.waitFor<string[]>('done');
    const missing = postIds.filter((id) => !seen.has(id)).length;
    vu.metrics.counter('feed_missing').add(missing);
    vu.check('every post arrived once', missing === 0);
  },

  vuTeardown(vu) {
    vu.state.client?.disconnect();
  },
});
