import { setTimeout as sleep } from 'node:timers/promises';
import { ClientGroup } from './clients.js';
import type { ClientKind, ClientReply } from './ipc.js';
import { type Burst, postsPhase, throughputPhase } from './phases.js';
import { cpuSeconds, rssBytes } from './proc.js';
import { startTarget, type Target, type TargetName } from './targets.js';

const STREAM = 'topic:bench';

const burstName = (b: Burst) =>
  b.size === 1 ? '1 per publish' : b.parallel ? `${b.size} publishes at once` : `${b.size} per publish`;
const WARMUP_SOCKETS = 50;

type Connected = Extract<ClientReply, { ev: 'connected' | 'subscribed' }>;
const sum = (rs: Connected[]) => ({
  ok: rs.reduce((a, r) => a + r.ok, 0),
  failed: rs.reduce((a, r) => a + r.failed, 0),
  firstError: rs.find((r) => r.firstError)?.firstError,
});

async function connect(
  t: Target,
  clients: ClientGroup,
  total: number,
  addressBase: number,
  codec: 'msgpack' | 'json',
  client: ClientKind,
) {
  const share = Math.ceil(total / clients.size);
  return sum(
    await clients.all<Connected>((i) => {
      const count = Math.min(share, total - i * share);
      if (count <= 0) return undefined;
      return {
        cmd: 'connect',
        url: t.wsUrl,
        count,
        mode: t.mode,
        codec,
        // A source address per client process: ephemeral ports per address are ~28 000.
        localAddress: `127.0.0.${addressBase + i}`,
        secret: t.secret,
        userPrefix: `bench${i}-`,
        concurrency: 200,
        client,
      };
    }),
  );
}

/**
 * Full GCs in the server until V8 has given its young generation back (it
 * grows to 32 MB under load and shrinks only when V8's memory reducer runs,
 * seconds later; two readings in a row with at most 2 MB of it) and RSS has
 * stayed within 1 MB for 15 s (other isolates, most likely tsx's
 * module-loader thread, shrink on their own schedule), or `maxMs` passed
 * (0: one reading). Without this, ~30 MB of RSS that no socket holds comes
 * and goes between the base and the idle reading.
 */
async function settled(
  t: Target,
  maxMs: number,
): Promise<(NodeJS.MemoryUsage & { newSpace?: number }) | undefined> {
  const end = Date.now() + maxMs;
  const startedAt = Date.now();
  const stableMs = 15_000;
  const history: { at: number; rss: number }[] = [];
  let small = 0;
  for (;;) {
    const m = (await t.collect()) as (NodeJS.MemoryUsage & { newSpace?: number }) | undefined;
    small = m?.newSpace !== undefined && m.newSpace <= 2 * 1024 * 1024 ? small + 1 : 0;
    const now = Date.now();
    history.push({ at: now, rss: rssBytes(t.pid) });
    const window = history.filter((h) => h.at >= now - stableMs).map((h) => h.rss);
    const stable = now - startedAt >= stableMs && Math.max(...window) - Math.min(...window) <= 1024 * 1024;
    if ((small >= 2 && stable) || now > end || m === undefined) return m;
  }
}

export interface FanoutOptions {
  repoRoot: string;
  codec: 'msgpack' | 'json';
  serverCpu: number | undefined;
  profileDir: string | undefined;
  socketsPerClient: number;
  posts: number;
  postIntervalMs: number;
  events: number;
  /** Publishes (requests, or volleys) per second in the throughput phases, whatever their burst. */
  publishesPerSecond: number;
  maxSeconds: number;
  /** One throughput phase per entry: events per publish (size 1: one event per publish). */
  bursts: Burst[];
  /** How the clients read (see ClientKind). */
  client: ClientKind;
  /** Lean and native clients decode every n-th event per socket in the throughput phases. */
  sampleEvery: number;
  /** Scales the fixed pauses (warm-up, idle CPU window); 1 for measurements, less for smoke runs. */
  pauseScale: number;
  /** Longest wait for the server's young generation to be given back before reading RSS (0: one reading). */
  settleMs: number;
  check: (name: string, ok: boolean, detail: string) => void;
  log: (line: string) => void;
}

/**
 * One target of the fan-out benchmark (the `broadcast` scenario): warm-up,
 * N idle authenticated sockets (RSS per socket), subscribe, single posts
 * (post → every follower latency), then a sustained stream of events
 * (deliveries per server-CPU-second).
 */
export async function runTarget(name: TargetName, sockets: number, o: FanoutOptions) {
  const { check, codec } = o;
  o.log(`▶ ${name}, ${sockets} sockets`);
  const t = await startTarget(name, {
    repoRoot: o.repoRoot,
    codec,
    serverCpu: o.serverCpu,
    profileDir: o.profileDir,
  });
  const clients = new ClientGroup(Math.ceil(sockets / o.socketsPerClient));
  try {
    // Stage 0: warm-up (JIT, lazy modules, first buffers) on sockets that are then closed.
    const warm = new ClientGroup(1);
    await connect(t, warm, WARMUP_SOCKETS, 2, o.codec, o.client === 'ws' ? 'ws' : 'lean');
    if (t.mode === 'shutter') await warm.all(() => ({ cmd: 'subscribe', stream: STREAM, concurrency: 50 }));
    for (let i = 0; i < 5; i++) await t.publish(STREAM, i);
    await sleep(200);
    await warm.close();
    await sleep(2000 * o.pauseScale);
    const rssBaseNoGc = rssBytes(t.pid);
    const memBase = await settled(t, o.settleMs);
    const rssBase = rssBytes(t.pid);

    // Stage 1: ramp up to N idle (authenticated) sockets.
    const rampStart = performance.now();
    const c = await connect(t, clients, sockets, 10, o.codec, o.client);
    const rampSeconds = (performance.now() - rampStart) / 1000;
    check(
      `${name}: ${t.mode === 'shutter' ? 'hello → welcome' : t.mode === 'socketio' ? 'open → connect (in the room)' : 'connected'}`,
      c.ok === sockets,
      `${c.ok}/${sockets} in ${rampSeconds.toFixed(1)} s${c.firstError ? ` (first error: ${c.firstError})` : ''}`,
    );
    await sleep(2000 * o.pauseScale);
    const cpuIdle0 = cpuSeconds(t.pid);
    await sleep(3000 * o.pauseScale);
    const idleCpuPerSecond = (cpuSeconds(t.pid) - cpuIdle0) / (3 * o.pauseScale);
    const rssIdleNoGc = rssBytes(t.pid);
    const memIdle = await settled(t, o.settleMs);
    const rssIdle = rssBytes(t.pid);

    // Stage 2: subscribe (raw servers joined their one topic on open).
    let rssSubscribed = rssIdle;
    if (t.mode === 'shutter') {
      const s = sum(
        await clients.all<Connected>(() => ({ cmd: 'subscribe', stream: STREAM, concurrency: 200 })),
      );
      check(
        `${name}: sub → res`,
        s.ok === c.ok,
        `${s.ok}/${c.ok}${s.firstError ? ` (first error: ${s.firstError})` : ''}`,
      );
      await sleep(1000 * o.pauseScale);
      await settled(t, o.settleMs);
      rssSubscribed = rssBytes(t.pid);
    }

    // Stage 3: single posts, then stage 4: a sustained stream of events.
    const posts = await postsPhase(t, clients, c.ok, STREAM, o.posts, o.postIntervalMs);
    check(
      `${name}: every post delivered once, in order`,
      posts.received === posts.expected && posts.gaps === 0,
      `${posts.received}/${posts.expected}, gaps ${posts.gaps}`,
    );
    const loads = [];
    for (const burst of o.bursts) {
      const load = await throughputPhase(t, clients, c.ok, STREAM, {
        events: o.events,
        publishesPerSecond: o.publishesPerSecond,
        maxSeconds: o.maxSeconds,
        burst,
        sampleEvery: o.client === 'ws' ? 1 : o.sampleEvery,
      });
      // A raw server publishes a volley's concurrent requests in their arrival order with the
      // publisher's seqs, so only Shutter (which assigns the seqs itself) can be held to an order there.
      const ordered = t.mode === 'shutter' || !burst.parallel;
      check(
        `${name}: every event delivered once${ordered ? ', in order' : ''} (${burstName(burst)})`,
        load.received === load.expected && (load.gaps === 0 || !ordered),
        `${load.received}/${load.expected}, gaps ${load.gaps} in ${load.sampled} decoded, closed by server ${load.closedByServer}`,
      );
      o.log(
        `  ${burstName(burst)}: ${Math.round(load.deliveriesPerServerCpuSecond / 1000)} k per server-CPU-s; server ${load.serverCpuSeconds.toFixed(2)} s vs clients ${load.clientCpuSeconds.toFixed(2)} s CPU; ${load.eventsPerRead.toFixed(1)} events/read`,
      );
      loads.push(load);
    }
    return {
      target: name,
      sockets: c.ok,
      rampSeconds,
      rss: {
        baseBytes: rssBase,
        idleBytes: rssIdle,
        subscribedBytes: rssSubscribed,
        baseNoGcBytes: rssBaseNoGc,
        idleNoGcBytes: rssIdleNoGc,
        perIdleSocketBytes: (rssIdle - rssBase) / c.ok,
        perIdleSocketNoGcBytes: (rssIdleNoGc - rssBaseNoGc) / c.ok,
        // From process.memoryUsage() in the server after the same GCs: JS heap vs the rest.
        perIdleSocketHeapUsedBytes: memBase && memIdle ? (memIdle.heapUsed - memBase.heapUsed) / c.ok : null,
        perIdleSocketHeapTotalBytes:
          memBase && memIdle ? (memIdle.heapTotal - memBase.heapTotal) / c.ok : null,
        memoryBase: memBase ?? null,
        memoryIdle: memIdle ?? null,
        perSubscribedSocketBytes: (rssSubscribed - rssBase) / c.ok,
      },
      idleServerCpuPerSecond: idleCpuPerSecond,
      posts,
      loads,
    };
  } finally {
    await clients.close();
    await t.stop();
  }
}
