import { setTimeout as sleep } from 'node:timers/promises';
import type { ClientGroup } from './clients.js';
import { Histogram } from './histogram.js';
import type { ClientReply } from './ipc.js';
import { cpuSeconds } from './proc.js';
import type { Target } from './targets.js';

type Report = Extract<ClientReply, { ev: 'report' }>;

export interface Delivery {
  published: number;
  expected: number;
  received: number;
  gaps: number;
  closedByServer: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  wallSeconds: number;
}

/** Events per publish; `parallel`: sent as that many single-event requests at once instead of one request. */
export interface Burst {
  size: number;
  parallel: boolean;
}

export interface Throughput extends Delivery {
  /** Events per publish (one HTTP request), or per volley of `parallel` single-event requests. */
  burst: number;
  parallel: boolean;
  serverCpuSeconds: number;
  deliveriesPerSecond: number;
  deliveriesPerServerCpuSecond: number;
  /** The client processes' CPU over the same window: below the server's, the clients out-ran it. */
  clientCpuSeconds: number;
  /** Events decoded (timed and seq-checked) at the clients; the rest were counted. */
  sampled: number;
  /** Events per TCP read at the lean clients: a floor on events per server write (0 with `ws` clients). */
  eventsPerRead: number;
}

async function report(clients: ClientGroup) {
  const rs = await clients.all<Report>(() => ({ cmd: 'report' }));
  const hist = new Histogram();
  const sum = { received: 0, sampled: 0, gaps: 0, closed: 0, reads: 0, cpuSeconds: 0 };
  for (const r of rs) {
    sum.received += r.received;
    sum.sampled += r.sampled;
    sum.gaps += r.gaps;
    sum.closed += r.closed;
    sum.reads += r.reads;
    sum.cpuSeconds += r.cpuSeconds;
    hist.merge(r.hist);
  }
  return { ...sum, hist };
}

/** Waits until the clients hold `expected` events (or `timeoutMs` passed); returns the last report. */
async function drain(clients: ClientGroup, expected: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await report(clients);
    if (r.received >= expected || Date.now() > deadline) return r;
    await sleep(100);
  }
}

function delivery(
  published: number,
  sockets: number,
  r: Awaited<ReturnType<typeof report>>,
  wall: number,
): Delivery {
  return {
    published,
    expected: published * sockets,
    received: r.received,
    gaps: r.gaps,
    closedByServer: r.closed,
    p50Ms: r.hist.quantile(0.5),
    p99Ms: r.hist.quantile(0.99),
    maxMs: r.hist.max,
    wallSeconds: wall,
  };
}

/** Single posts far enough apart that each fans out on a quiet server: post → every follower latency. */
export async function postsPhase(
  t: Target,
  clients: ClientGroup,
  sockets: number,
  stream: string,
  posts: number,
  intervalMs: number,
): Promise<Delivery> {
  await clients.all(() => ({ cmd: 'reset', sampleEvery: 1 }));
  const start = performance.now();
  for (let i = 0; i < posts; i++) {
    await t.publish(stream, i);
    await sleep(intervalMs);
  }
  const r = await drain(clients, posts * sockets, 15_000);
  return delivery(posts, sockets, r, (performance.now() - start) / 1000);
}

/**
 * Publishes up to `events` at no more than `publishesPerSecond` for at most
 * `maxSeconds`, `burst.size` events per publish (one HTTP request), or as a
 * volley of that many single-event requests at once (`burst.parallel`); one
 * publish or volley in flight at a time, so a saturated server slows the
 * publisher instead of queueing; then waits for the deliveries. Server and client CPU are read
 * before the first publish and after the last delivery.
 */
export async function throughputPhase(
  t: Target,
  clients: ClientGroup,
  sockets: number,
  stream: string,
  o: { events: number; publishesPerSecond: number; maxSeconds: number; burst: Burst; sampleEvery: number },
): Promise<Throughput> {
  await clients.all(() => ({ cmd: 'reset', sampleEvery: o.sampleEvery }));
  const cpu0 = cpuSeconds(t.pid);
  const start = performance.now();
  let i = 0;
  let publishes = 0;
  while (i < o.events && performance.now() - start < o.maxSeconds * 1000) {
    const n = Math.min(o.burst.size, o.events - i);
    if (o.burst.parallel) await Promise.all(Array.from({ length: n }, (_, k) => t.publish(stream, i + k)));
    else await t.publish(stream, i, n);
    i += n;
    publishes++;
    const wait = start + (publishes * 1000) / o.publishesPerSecond - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const r = await drain(clients, i * sockets, 30_000);
  const wall = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(t.pid) - cpu0;
  return {
    ...delivery(i, sockets, r, wall),
    burst: o.burst.size,
    parallel: o.burst.parallel,
    serverCpuSeconds: cpu,
    deliveriesPerSecond: r.received / wall,
    // 0 when the server used less than a clock tick (smoke runs).
    deliveriesPerServerCpuSecond: cpu > 0 ? r.received / cpu : 0,
    clientCpuSeconds: r.cpuSeconds,
    sampled: r.sampled,
    eventsPerRead: r.reads > 0 ? r.received / r.reads : 0,
  };
}
