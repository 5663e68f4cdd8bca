import { newId, type PostCountsEvent, postStream, randomShard } from '@shutter/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShutterNode } from '../src/node.js';
import { DomainCluster } from './helpers/domain-cluster.js';
import type { NodeProcess } from './helpers/node-process.js';
import { RawClient } from './helpers/raw-client.js';
import { startTestNode, wsUrl } from './helpers/test-node.js';
import { sleep, until } from './helpers/wait.js';

/**
 * Live counts of one post on a two-node cluster: node A runs in this
 * process (so the test can emit the domain events likes land with) and
 * holds the post's actor; node B is a child process the test kills. Viewers
 * are raw sockets on both nodes, renewing their lease every half lease.
 * Likes land in parallel (another part of issue 10): here a "like" is the
 * row's count moved and `likes.changed` emitted on A, as the likes code does.
 */
const LEASE_MS = 2000;
const PER_SECOND = 4;
/**
 * Viewers on B and on A. `LIVE_BENCH_VIEWERS=<n>` makes it a bench: n on B
 * and n/3 on A, the same checks of counts and of the rate at the server,
 * and the latencies and arrival times reported rather than held to the
 * targets (the viewers' sockets share this process and its cores with
 * node A: at a few hundred, they, not the server, set the latency).
 */
const BENCH = process.env.LIVE_BENCH_VIEWERS !== undefined;
const ON_B = BENCH ? Number(process.env.LIVE_BENCH_VIEWERS) : 12;
const ON_A = Math.max(4, Math.floor(ON_B / 3));
/** Delivery jitter allowed when counting updates by arrival: a late frame lands close to the next one. */
const JITTER_MS = 1000 / PER_SECOND;
const cluster = new DomainCluster('live', {
  POST_VIEW_LEASE_MS: String(LEASE_MS),
  LIVE_COUNTS_PER_SECOND: String(PER_SECOND),
});
let a: ShutterNode;
let b: NodeProcess;
let postId: string;
let authorId: string;

/** A viewer: a socket holding the post's stream, and when each of its frames arrived. */
interface Viewer {
  c: RawClient;
  on: 'A' | 'B';
  renewing: boolean;
  /** Arrival time of `c.messages[i]`, for the frames since it subscribed. */
  arrived: Map<number, number>;
}
const viewers: Viewer[] = [];
let renewals: NodeJS.Timeout | undefined;

const stream = () => postStream(postId);
/** The counts updates a viewer got from message `from` on: what they said, when published and when they arrived. */
function updates(v: Viewer, from = 0): (PostCountsEvent & { ts: number; at: number })[] {
  const out: (PostCountsEvent & { ts: number; at: number })[] = [];
  v.c.messages.forEach((m, i) => {
    if (i >= from && m.t === 'ev' && m.stream === stream())
      out.push({ ...(m.data as PostCountsEvent), ts: m.ts, at: v.arrived.get(i)! });
  });
  return out;
}
const last = (v: Viewer) => updates(v).at(-1);

async function user(shard = randomShard()): Promise<string> {
  const id = newId(shard);
  await cluster
    .dbOf(id)
    .query('INSERT INTO users (id, username) VALUES ($1, $2)', [id, `lv${id.slice(-12)}`]);
  return id;
}

async function view(on: 'A' | 'B'): Promise<Viewer> {
  const id = await user();
  const token = (await cluster.minter.mint(id, 600)).token;
  const c = await RawClient.open(on === 'A' ? wsUrl(a) : b.wsUrl, token);
  const v: Viewer = { c, on, renewing: true, arrived: new Map() };
  c.ws.on('message', () => v.arrived.set(c.messages.length - 1, Date.now()));
  const r = await c.call({ t: 'sub', stream: stream() });
  expect(r).toMatchObject({ t: 'res', result: { status: 'fresh', leaseMs: LEASE_MS } });
  viewers.push(v);
  return v;
}

/** Moves the post's like count in its row and tells the node, as a committed batch of likes does. */
async function like(n = 1): Promise<number> {
  const r = await cluster
    .dbOf(postId)
    .query<{ like_count: number }>(
      'UPDATE posts SET like_count = like_count + $2 WHERE id = $1 RETURNING like_count',
      [postId, n],
    );
  const likeCount = r.rows[0]!.like_count;
  await a.ports.events.emit({
    type: 'likes.changed',
    postId,
    authorId,
    liked: [{ userId: authorId, at: Date.now() }],
    unliked: [],
    likeCount,
  });
  return likeCount;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

beforeAll(async () => {
  [b] = (await cluster.start(1)) as [NodeProcess];
  a = await startTestNode('ws', { ...cluster.env, NODE_ID: 'live-a' });
  await cluster.settled([b, { url: a.url } as NodeProcess]);
  // An author whose shard (and so the post's actor) is A's.
  const cl = a.cluster!;
  let shard = randomShard();
  for (let i = 0; cl.locate(shard).kind !== 'local'; i++) {
    if (i > 5000) throw new Error('node A owns no shard');
    shard = randomShard();
  }
  authorId = await user(shard);
  postId = newId(shard);
  await cluster
    .dbOf(postId)
    .query("INSERT INTO posts (id, author_id, media_ids) VALUES ($1, $2, '{}')", [postId, authorId]);
  // Each viewer renews every half lease, a tenth of them at a time (apps do not renew in step).
  let tick = 0;
  renewals = setInterval(() => {
    tick++;
    viewers.forEach((v, i) => {
      if (i % 10 === tick % 10 && v.renewing && !v.c.closed)
        v.c.send({ t: 'sub', id: v.c.id(), stream: stream() });
    });
  }, LEASE_MS / 20);
}, 90_000);

afterAll(async () => {
  clearInterval(renewals);
  for (const v of viewers) v.c.close();
  await a?.shutdown();
  await cluster.teardown();
}, 60_000);

describe('live counts of a post across two nodes', () => {
  it('counts viewers on both nodes up and down; each sees the count', async () => {
    await Promise.all([
      ...Array.from({ length: ON_B }, () => view('B')),
      ...Array.from({ length: ON_A }, () => view('A')),
    ]);
    const all = ON_A + ON_B;
    await until(() => viewers.every((v) => last(v)?.viewers === all), 10_000, `every viewer to see ${all}`);
    for (const v of viewers.filter((x) => x.on === 'B').slice(0, 4)) {
      v.renewing = false;
      expect(await v.c.call({ t: 'unsub', stream: stream() })).toMatchObject({ t: 'res' });
    }
    const watching = () => viewers.filter((v) => v.renewing);
    await until(
      () => watching().every((v) => last(v)?.viewers === all - 4),
      5000,
      `every viewer to see ${all - 4}`,
    );
    expect(last(watching()[0]!)).toMatchObject({ type: 'counts', likes: 0, comments: 0 });
  });

  it('a storm of likes settles on the row for every viewer, at most LIVE_COUNTS_PER_SECOND updates a second', async () => {
    const watching = viewers.filter((v) => v.renewing);
    const from = new Map(watching.map((v) => [v, v.c.messages.length]));
    const stormMs = 4000;
    const started = Date.now();
    /** Each like's count and when it was committed. */
    const commits: { count: number; at: number }[] = [];
    // Four writers in parallel, as concurrent group commits would be.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() - started < stormMs) {
          const count = await like();
          commits.push({ count, at: Date.now() });
        }
      }),
    );
    const stopped = Date.now();
    const truth = (
      await cluster
        .dbOf(postId)
        .query<{ like_count: number }>('SELECT like_count FROM posts WHERE id = $1', [postId])
    ).rows[0]!.like_count;
    await until(
      () => watching.every((v) => last(v)?.likes === truth),
      3000,
      `every viewer to see ${truth} likes`,
    );
    const settled = Math.max(...watching.map((v) => last(v)!.at)) - stopped;
    await sleep(1000);
    let total = 0;
    let busiest = 0;
    let busiestArrival = 0;
    for (const v of watching) {
      const got = updates(v, from.get(v));
      // The last update is the true one, and nothing followed it.
      expect(got.at(-1)).toMatchObject({ likes: truth, viewers: watching.length });
      total += got.length;
      // No second of publish times holds more than PER_SECOND updates; nor does any second of
      // arrival times, less the delivery jitter (JITTER_MS).
      for (const u of got) {
        busiest = Math.max(busiest, got.filter((w) => w.ts >= u.ts && w.ts < u.ts + 1000).length);
        const arrived = got.filter((w) => w.at >= u.at && w.at < u.at + 1000).length;
        busiestArrival = Math.max(busiestArrival, arrived);
        const bunch = got.filter((w) => w.at >= u.at && w.at < u.at + 1000 - JITTER_MS);
        if (!BENCH)
          expect(
            bunch.length,
            `[ts, arrival] ${JSON.stringify(bunch.map((w) => [w.ts, w.at]))}`,
          ).toBeLessThanOrEqual(PER_SECOND);
      }
    }
    expect(busiest, 'updates in a second of publish times').toBeLessThanOrEqual(PER_SECOND);
    expect(busiest).toBe(PER_SECOND); // the storm did fill the budget
    // Storm latency: from a like's commit to the first update showing it (or more), for three viewers.
    const lat: number[] = [];
    /** The server's part: from the commit to the update's publish. */
    const toPublish: number[] = [];
    for (const v of watching.slice(0, 3)) {
      const got = updates(v, from.get(v));
      for (const c of commits) {
        const first = got.find((u) => u.likes >= c.count);
        if (first) {
          lat.push(first.at - c.at);
          toPublish.push(first.ts - c.at);
        }
      }
    }
    console.info(
      `storm: ${commits.length} like commits in ${stormMs} ms, ${watching.length} viewers on 2 nodes, ${(total / watching.length).toFixed(1)} updates per viewer (busiest second: ${busiest} by publish time, ${busiestArrival} by arrival), settled ${settled} ms after the last commit; like → update p50 ${percentile(lat, 50)} ms, p99 ${percentile(lat, 99)} ms (interval ${1000 / PER_SECOND} ms; like → publish p50 ${percentile(toPublish, 50)} ms, p99 ${percentile(toPublish, 99)} ms)`,
    );
    if (!BENCH) expect(percentile(lat, 99)).toBeLessThan(250 + 1000 / PER_SECOND);
  });

  it('like → viewer update when likes come one at a time: measured', async () => {
    const watching = viewers.filter((v) => v.renewing);
    const lat: number[] = [];
    const toPublish: number[] = [];
    for (let i = 0; i < 30; i++) {
      const before = Date.now();
      const count = await like();
      const at = Date.now();
      await until(() => watching.every((v) => (last(v)?.likes ?? 0) >= count), 3000, `${count} likes`);
      for (const v of watching) {
        const u = updates(v).find((x) => x.likes >= count)!;
        lat.push(u.at - at);
        toPublish.push(u.ts - at);
      }
      expect(at - before).toBeLessThan(1000);
      await sleep(1000 / PER_SECOND + 50);
    }
    console.info(
      `single likes: ${lat.length} deliveries to ${watching.length} viewers on 2 nodes: like → update p50 ${percentile(lat, 50)} ms, p99 ${percentile(lat, 99)} ms (like → publish p50 ${percentile(toPublish, 50)} ms, p99 ${percentile(toPublish, 99)} ms)`,
    );
    if (!BENCH) expect(percentile(lat, 99)).toBeLessThan(250);
  });

  it("a viewer's node dies: its viewers stop counting within the lease", async () => {
    const onA = viewers.filter((v) => v.on === 'A');
    const before = last(onA[0]!)!.viewers;
    const killed = Date.now();
    await b.kill('SIGKILL');
    await until(
      () => onA.every((v) => last(v)?.viewers === onA.length),
      LEASE_MS + 3000,
      'the count to fall',
    );
    const fell =
      Math.max(...onA.map((v) => updates(v).find((u) => u.viewers === onA.length && u.at >= killed)!.at)) -
      killed;
    console.info(
      `node killed → viewers fell from ${before} to ${onA.length} in ${fell} ms (lease ${LEASE_MS} ms)`,
    );
    // The lease from its last renewal, then a sweep (a tenth of a lease) and an update interval.
    expect(fell).toBeLessThanOrEqual(LEASE_MS + LEASE_MS / 10 + 1000 / PER_SECOND + 250);
  });
});
