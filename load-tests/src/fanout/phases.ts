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

export interface Throughput extends Delivery {
  serverCpuSeconds: number;
  deliveriesPerSecond: number;
  deliveriesPerServerCpuSecond: number;
}

async function report(
  clients: ClientGroup,
): Promise<{ received: number; gaps: number; closed: number; hist: Histogram }> {
  const rs = await clients.all<Report>(() => ({ cmd: 'report' }));
  const hist = new Histogram();
  let received = 0;
  let gaps = 0;
  let closed = 0;
  for (const r of rs) {
    received += r.received;
    gaps += r.gaps;
    closed += r.closed;
    hist.merge(r.hist);
  }
  return { received, gaps, closed, hist };
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
  await clients.all(() => ({ cmd: 'reset' }));
  const start = performance.now();
  for (let i = 0; i < posts; i++) {
    await t.publish(stream, i);
    await sleep(intervalMs);
  }
  const r = await drain(clients, posts * sockets, 15_000);
  return delivery(posts, sockets, r, (performance.now() - start) / 1000);
}

/**
 * Publishes up to `events` at no more than `rate` per second for at most
 * `maxSeconds` (one publish in flight at a time, so a saturated server slows
 * the publisher instead of queueing), then waits for the deliveries. Server
 * CPU is read from /proc before the first publish and after the last delivery.
 */
export async function throughputPhase(
  t: Target,
  clients: ClientGroup,
  sockets: number,
  stream: string,
  events: number,
  rate: number,
  maxSeconds: number,
): Promise<Throughput> {
  await clients.all(() => ({ cmd: 'reset' }));
  const cpu0 = cpuSeconds(t.pid);
  const start = performance.now();
  let i = 0;
  while (i < events && performance.now() - start < maxSeconds * 1000) {
    await t.publish(stream, i);
    i++;
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const r = await drain(clients, i * sockets, 30_000);
  const wall = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(t.pid) - cpu0;
  return {
    ...delivery(i, sockets, r, wall),
    serverCpuSeconds: cpu,
    deliveriesPerSecond: r.received / wall,
    deliveriesPerServerCpuSecond: r.received / cpu,
  };
}
