/**
 * Notifications benchmark (issue 10: "notifications delivered per second
 * and like → recipient p99"). One node in this process (Postgres on two
 * physical databases, Redis stream history; `--queue nats` adds NATS, so
 * the job queue is JetStream as in a cluster), `--recipients` users each
 * with a socket (the SDK) subscribed to their inbox, `--likers` users who
 * like. Likes enter as the likes capability will emit them: `likes.changed`
 * on the node's domain events (one group commit each).
 *
 * 1. Throughput: `--events` like events as fast as they enqueue (64 in
 *    flight), each on its own post of a random recipient (so each makes one
 *    notification), `--batch` likers per event. Reported: notifications
 *    written per second (from the first emit until every row is there), and
 *    inbox events received by the sockets per second.
 * 2. Latency at a moderate load: `--rate` like events a second for
 *    `--seconds`, one liker each, to random recipients; for each, the time
 *    from the emit to the recipient's socket receiving the notification,
 *    and how long the emit itself waited (the durable enqueue: what the
 *    like's acknowledgement waits for).
 *
 *   flock -w 900 /tmp/shutter-heavy.lock node --conditions=source --import tsx \
 *     server/test/bench/notifications-bench.ts [--queue sql|nats] [--events 4000] [--rate 100] [--concurrency 8]
 *
 * Everything on loopback, in one process (the clients share its CPU);
 * bounded in time; drops its schema, Redis keys and JetStream streams at the end.
 */
import { parseArgs } from 'node:util';
import { createClient, type ShutterClient } from '@shutter/client-sdk';
import { type InboxEvent, inboxStream, newId, shardOfId } from '@shutter/protocol';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { PgSql } from '../../src/sql/index.js';
import { makeUsers, type TestUser } from '../fixtures/social.js';
import { devToken, startTestNode, wsUrl } from '../helpers/test-node.js';
import {
  deleteNamespaceStreams,
  natsUrl,
  postgresUrl,
  postgresUrlB,
  redisUrl,
  uniqueName,
} from '../services.js';

const { values: args } = parseArgs({
  options: {
    queue: { type: 'string', default: 'sql' },
    recipients: { type: 'string', default: '200' },
    likers: { type: 'string', default: '300' },
    events: { type: 'string', default: '4000' },
    batch: { type: 'string', default: '1' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '8' },
  },
});
const nRecipients = Number(args.recipients);
const nEvents = Number(args.events);
const batch = Number(args.batch);
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const namespace = uniqueName('nbench').toLowerCase().slice(0, 32);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

const node = await startTestNode('uws', {
  NAMESPACE: namespace,
  REDIS_URL: redisUrl,
  ...(args.queue === 'nats' ? { NATS_URL: natsUrl } : {}),
  NOTIFY_LIVE_PER_MINUTE: '100000',
  NOTIFY_PUSH_AFTER_MS: '600000',
  NOTIFY_CONCURRENCY: args.concurrency,
  LOG_LEVEL: 'warn',
});
const clients: ShutterClient[] = [];
try {
  const recipients = await makeUsers(node, nRecipients);
  const likers = await makeUsers(node, Number(args.likers));
  /** Post id → when its like was emitted (ms, performance.now()). */
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  await Promise.all(
    recipients.map(async (r) => {
      const client = createClient({
        url: wsUrl(node),
        getToken: () => devToken(node, r.id),
        WebSocket: WebSocket as never,
      });
      clients.push(client);
      const sub = client.subscribe<InboxEvent>(inboxStream(r.id), ({ data }) => {
        if (data.type !== 'notification') return;
        received++;
        const t0 = data.notification.postId ? sentAt.get(data.notification.postId) : undefined;
        if (t0 !== undefined) latencies.push(performance.now() - t0);
      });
      client.connect();
      while (sub.state !== 'subscribed') await sleep(20);
    }),
  );
  const like = (recipient: TestUser, likerIds: string[], track: boolean) => {
    const postId = newId(shardOfId(recipient.id) ?? 0);
    if (track) sentAt.set(postId, performance.now());
    return node.ports.events.emit({
      type: 'likes.changed',
      postId,
      authorId: recipient.id,
      liked: likerIds.map((userId) => ({ userId, at: Date.now() })),
      unliked: [],
      likeCount: likerIds.length,
    });
  };
  const rows = async () => {
    let n = 0;
    for (const sql of node.db.all)
      n += (await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications')).rows[0]?.n ?? 0;
    return n;
  };

  // 1. Throughput.
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < nEvents) {
        next++;
        const ids = Array.from({ length: batch }, () => pick(likers).id);
        await like(pick(recipients), [...new Set(ids)], false);
      }
    }),
  );
  const enqueuedMs = performance.now() - t0;
  const deadline = performance.now() + 300_000;
  while ((await rows()) < nEvents && performance.now() < deadline) await sleep(50);
  const writtenMs = performance.now() - t0;
  const written = await rows();
  while (received < written && performance.now() < deadline) await sleep(20);
  const deliveredMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  console.log(
    JSON.stringify({
      phase: 'throughput',
      queue: args.queue,
      events: nEvents,
      likersPerEvent: batch,
      enqueuedPerSecond: Math.round(nEvents / (enqueuedMs / 1000)),
      notificationsWritten: written,
      writtenPerSecond: Math.round(written / (writtenMs / 1000)),
      inboxEventsReceived: received,
      deliveredPerSecond: Math.round(received / (deliveredMs / 1000)),
      // This process: the node and the sockets' clients (Postgres, Redis, NATS not counted).
      processCpuSeconds: Math.round(cpuSeconds * 100) / 100,
      writtenPerProcessCpuSecond: Math.round(written / cpuSeconds),
    }),
  );

  // 2. Latency at a moderate, steady rate.
  const total = rate * seconds;
  /** How long each emit waited for its handler (the enqueue): what a like's acknowledgement waits for. */
  const emitMs: number[] = [];
  let sent = 0;
  const start = performance.now();
  while (sent < total) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    while (sent < Math.min(due, total)) {
      sent++;
      const e0 = performance.now();
      void like(pick(recipients), [pick(likers).id], true).then(() => emitMs.push(performance.now() - e0));
    }
    await sleep(5);
  }
  const end = performance.now() + 10_000;
  while (latencies.length < total && performance.now() < end) await sleep(20);
  const sorted = [...latencies].sort((a, b) => a - b);
  const emits = [...emitMs].sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      phase: 'latency',
      queue: args.queue,
      ratePerSecond: rate,
      seconds,
      sent: total,
      received: sorted.length,
      p50Ms: Math.round(quantile(sorted, 0.5) * 10) / 10,
      p99Ms: Math.round(quantile(sorted, 0.99) * 10) / 10,
      maxMs: Math.round((sorted.at(-1) ?? Number.NaN) * 10) / 10,
      emitP50Ms: Math.round(quantile(emits, 0.5) * 10) / 10,
      emitP99Ms: Math.round(quantile(emits, 0.99) * 10) / 10,
    }),
  );
} finally {
  for (const c of clients) c.disconnect();
  await node.shutdown();
  for (const url of [postgresUrl, postgresUrlB]) {
    const admin = new PgSql(url, 'public', 1);
    await admin.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
    await admin.close();
  }
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${namespace}:*`);
  if (keys.length) await r.del(...keys);
  await r.quit();
  if (args.queue === 'nats') await deleteNamespaceStreams(namespace);
}
