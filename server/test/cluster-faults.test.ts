import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARD_MAP_TIMEOUT_MS } from '../src/adapters/nats-shard-map.js';
import { TEST_TIMINGS, TestCluster, type TestNode } from './cluster-harness.js';
import { readCounters } from './cluster-load.js';
import { check, uuidv7, Workload } from './cluster-workload.js';
import { OwnedNats } from './helpers/owned-nats.js';

// Issue 8, "the cluster survives its broker": three real node processes
// (fixtures/counter-node.ts, Postgres state) on a NATS this file owns, which
// it kills and restarts. Each scenario runs the keyed-increment workload
// through the live nodes while the fault happens and checks, at the end, that
// no acknowledged increment was lost and none applied twice; it reports the
// fault's availability gap (the longest time any counter went without an
// acknowledgement). docs/cluster.md records the figures.
const nats = new OwnedNats();
let c: TestCluster;
let nodes: TestNode[] = [];
const { leaseMs, heartbeatMs } = TEST_TIMINGS;

const log = (msg: string) => process.stdout.write(`    [faults] ${msg}\n`);

/** One line per fault for the combined figures in docs/cluster.md. */
const summary: {
  fault: string;
  gapMs: number;
  medianGapMs: number;
  acked: number;
  resent: number;
  lost: number;
  twice: number;
}[] = [];
function record(fault: string, w: Workload, from: number, r: Awaited<ReturnType<typeof finish>>) {
  const gap = w.gap(from, Date.now());
  summary.push({
    fault,
    gapMs: gap.worstMs,
    medianGapMs: gap.medianMs,
    acked: r.total,
    resent: r.report.resent,
    lost: r.lost,
    twice: r.twice,
  });
  return gap;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const counters = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);
const sumStat = async (ns: TestNode[], key: string) =>
  (await Promise.all(ns.map(async (n) => Number((await n.stats()).cluster[key])))).reduce((a, b) => a + b, 0);

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Every node serves again: not fenced, and an increment through each answers. */
async function serving(ns: TestNode[], ms: number): Promise<void> {
  await until(
    'every node to serve',
    async () => {
      for (const n of ns) if ((await n.stats()).cluster.fenced) return undefined;
      return true;
    },
    ms,
  );
}

async function settledMap(ns: TestNode[], ms: number): Promise<number> {
  return until('the shard map to settle', async () => c.settled(ns, 200), ms);
}

async function finish(w: Workload, ids: string[], via: TestNode) {
  const report = await w.stop();
  const final = await readCounters(via, ids);
  const { lost, twice } = check(report.acked, final);
  return { report, lost, twice, total: [...report.acked.values()].reduce((a, b) => a + b, 0) };
}

/** Counters (of `tag`) whose shard `owner` holds, as `via` sees it. */
async function ownedBy(via: TestNode, owner: TestNode, tag: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const { location } = await via.locate(`${tag}-${i}`);
    if (location.kind === 'remote' && location.node === owner.id) out.push(`${tag}-${i}`);
  }
  return out;
}

describe('actor cluster faults: the NATS it runs on is killed, restarted, emptied', () => {
  beforeAll(async () => {
    await nats.start();
    c = new TestCluster(nats.url);
    await c.setup();
    nodes = await Promise.all([c.start(), c.start(), c.start()]);
    log(`3 nodes settled in ${await c.settled(nodes)} ms on ${nats.url}`);
  }, 90_000);
  afterAll(async () => {
    for (const s of summary) log(`summary ${JSON.stringify(s)}`);
    for (const n of nodes) n.proc.signal('SIGCONT');
    await c?.teardown();
    await nats.destroy();
  }, 60_000);

  it('(item 2) a NATS outage of two leases that every node shares moves no shard', async () => {
    const ids = counters('outage', 16);
    const w = new Workload({ counters: ids, nodes: () => c.live() });
    w.start();
    await sleep(1000);
    const before = await c.owners();
    const takeoversBefore = await sumStat(nodes, 'takeovers');
    const down = Date.now();
    await nats.kill();
    await sleep(2 * leaseMs);
    await nats.restart();
    const up = Date.now();
    await serving(nodes, 20_000);
    const servingMs = Date.now() - up;
    // Give a mistaken takeover every chance to happen.
    await sleep(3 * leaseMs);
    const result = await finish(w, ids, nodes[0]!);
    const { report, lost, twice, total } = result;
    const after = await c.owners();
    const moved = [...before].filter(
      ([s, r]) => after.get(s)?.owner !== r.owner || after.get(s)?.epoch !== r.epoch,
    );
    const takeovers = (await sumStat(nodes, 'takeovers')) - takeoversBefore;
    const gap = record('NATS outage, 2 leases, same store', w, down, result);
    log(
      `outage ${up - down} ms: nodes serving ${servingMs} ms after NATS returned; ${moved.length} shards moved, ${takeovers} takeovers; ` +
        `gap ${gap.worstMs} ms (median counter ${gap.medianMs} ms); ${total} acked, ${report.resent} resent, lost ${lost}, twice ${twice}`,
    );
    expect(moved.length).toBe(0);
    expect(takeovers).toBe(0);
    expect(lost).toBe(0);
    expect(twice).toBe(0);
  }, 90_000);

  it('(item 7) asks made while NATS is down are sent once it is back, not left to their deadline; the tick never blocks', async () => {
    const [a, b] = nodes as [TestNode, TestNode];
    const ids = await ownedBy(a, b, 'down', 8);
    const wids = counters('down-w', 16);
    const w = new Workload({ counters: wids, nodes: () => c.live() });
    w.start();
    await sleep(1000);
    const eventsFrom = a.proc.events.length;
    const down = Date.now();
    await nats.kill();
    const asks = ids.map(async (id) => {
      const r = (await a.ask([{ id, msg: 'inc', key: uuidv7(), timeoutMs: 15_000 }]))[0]!;
      return { ...r, ms: Date.now() - down };
    });
    await sleep(2500);
    await nats.restart();
    const returnedAt = Date.now() - down;
    const results = await Promise.all(asks);
    const late = a.proc.events.slice(eventsFrom).filter((e) => e.event === 'tick_late');
    const worstTick = Math.max(0, ...late.map((e) => Number(e.ms)));
    log(
      `NATS back after ${returnedAt} ms; asks answered after ${results.map((r) => r.ms).join(', ')} ms; longest tick ${worstTick} ms`,
    );
    expect(results.map((r) => r.ok)).toEqual(ids.map(() => true));
    // Answered within a lease and a few heartbeats of NATS returning (their deadline was 15 s).
    for (const r of results) expect(r.ms).toBeLessThan(returnedAt + leaseMs + 8 * heartbeatMs + 2000);
    // The cluster tick kept running during the outage: store calls made while NATS is down fail at
    // once; one already in flight when it died waits out its bound (SHARD_MAP_TIMEOUT_MS, 2 s).
    // Before the fix a tick was blocked 5.3 s here (10 s in issue 8).
    expect(worstTick).toBeLessThan(SHARD_MAP_TIMEOUT_MS + 2 * heartbeatMs);
    await serving(nodes, 20_000);
    await sleep(leaseMs);
    const result = await finish(w, wids, a);
    const gap = record('NATS outage, 2.5 s, asks made meanwhile', w, down, result);
    log(
      `disconnected: gap ${gap.worstMs} ms (median counter ${gap.medianMs} ms); ${result.total} acked, ${result.report.resent} resent, lost ${result.lost}, twice ${result.twice}`,
    );
    expect(result.lost).toBe(0);
    expect(result.twice).toBe(0);
  }, 60_000);

  it('(item 4) asks in flight to a paused owner are re-sent at the takeover (keyed) or failed early (unkeyed), never applied twice', async () => {
    await settledMap(nodes, 30_000);
    const stats = await Promise.all(nodes.map(async (n) => (await n.stats()).cluster));
    // Pause a node that is not the coordinator: the takeover needs no election first.
    const victim = nodes.find((_, i) => !stats[i]!.coordinator)!;
    const via = nodes.find((n) => n !== victim && n !== nodes.find((_, i) => stats[i]!.coordinator))!;
    const keyed = await ownedBy(via, victim, 'pause', 8);
    const unkeyed = (await ownedBy(via, victim, 'pause-u', 1))[0]!;
    const base = await readCounters(via, [...keyed, unkeyed]);
    const ids = counters('pause-w', 16);
    const w = new Workload({ counters: ids, nodes: () => c.live().filter((n) => n !== victim) });
    w.start();
    await sleep(1000);
    const stoppedAt = Date.now();
    victim.proc.signal('SIGSTOP');
    const timed = async (p: Promise<{ ok: boolean; code?: string }[]>) => {
      const r = (await p)[0]!;
      return { ...r, ms: Date.now() - stoppedAt };
    };
    const deadlineMs = 10_000;
    const keyedAsks = keyed.map((id) =>
      timed(via.ask([{ id, msg: 'inc', key: uuidv7(), timeoutMs: deadlineMs }]) as never),
    );
    const unkeyedAsk = timed(via.ask([{ id: unkeyed, msg: 'inc', timeoutMs: deadlineMs }]) as never);
    const keyedResults = await Promise.all(keyedAsks);
    const unkeyedResult = await unkeyedAsk;
    log(
      `owner paused: keyed asks answered after ${keyedResults.map((r) => r.ms).join(', ')} ms; ` +
        `the unkeyed one ${JSON.stringify({ ok: unkeyedResult.ok, code: unkeyedResult.code })} after ${unkeyedResult.ms} ms (deadline ${deadlineMs} ms)`,
    );
    const bound = leaseMs + 2 * heartbeatMs + 3000;
    expect(keyedResults.map((r) => r.ok)).toEqual(keyed.map(() => true));
    for (const r of keyedResults) expect(r.ms).toBeLessThan(bound);
    // Nobody knows whether the paused owner applied it: "timeout", but not at the deadline.
    expect(unkeyedResult).toMatchObject({ ok: false, code: 'actor_timeout' });
    expect(unkeyedResult.ms).toBeLessThan(bound);
    // Let every deadline pass, then wake the owner: what it still held must not count.
    await sleep(Math.max(0, stoppedAt + deadlineMs + 500 - Date.now()));
    victim.proc.signal('SIGCONT');
    await settledMap(nodes, 30_000);
    const result = await finish(w, ids, via);
    const { report, lost, twice, total } = result;
    const gap = record('owner paused 10.5 s (SIGSTOP)', w, stoppedAt, result);
    const after = await readCounters(via, [...keyed, unkeyed]);
    log(
      `pause: gap ${gap.worstMs} ms (median counter ${gap.medianMs} ms); ${total} acked, ${report.resent} resent, ${report.timeouts} timeouts, lost ${lost}, twice ${twice}`,
    );
    for (const id of keyed) expect(after.get(id)).toBe(base.get(id)! + 1);
    expect(after.get(unkeyed)).toBe(base.get(unkeyed));
    expect(lost).toBe(0);
    expect(twice).toBe(0);
  }, 120_000);

  it('(item 1) NATS restarted on an empty store: the bucket is recreated, every shard reassigned once, every counter answers', async () => {
    await settledMap(nodes, 30_000);
    const ids = counters('lost', 16);
    const w = new Workload({ counters: ids, nodes: () => c.live() });
    w.start();
    await sleep(1000);
    const down = Date.now();
    await nats.kill();
    await sleep(500);
    await nats.restart({ freshStore: true });
    const up = Date.now();
    const settledMs = await settledMap(nodes, 60_000);
    const recoveredMs = Date.now() - up;
    // Every counter acknowledged again after the restart.
    await until(
      'every counter to answer',
      async () => (ids.every((id) => w.lastAck(id) > up) ? true : undefined),
      30_000,
    );
    const answeredMs = Date.now() - up;
    await sleep(2 * leaseMs);
    const result = await finish(w, ids, nodes[1]!);
    const { report, lost, twice, total } = result;
    const gap = record('NATS restarted on an empty store', w, down, result);
    const owners = await c.owners();
    const epochs = new Set([...owners.values()].map((r) => r.epoch > down));
    log(
      `bucket lost: map reassigned ${recoveredMs} ms after NATS returned (settle ${settledMs} ms), every counter acked by ${answeredMs} ms; ` +
        `gap ${gap.worstMs} ms (median counter ${gap.medianMs} ms); ${total} acked, ${report.resent} resent, lost ${lost}, twice ${twice}`,
    );
    expect(owners.size).toBe(1024);
    expect(epochs).toEqual(new Set([true]));
    for (const n of nodes) expect((await readCounters(n, ids)).size).toBe(ids.length);
    expect(gap.worstMs).toBeLessThan(20_000);
    expect(lost).toBe(0);
    expect(twice).toBe(0);
  }, 180_000);
});
