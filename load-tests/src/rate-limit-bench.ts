/**
 * Rate-limit benchmark (docs/performance.md, "Rate limits"): what one take
 * costs — the Redis adapter (one Lua script per take, the cluster's shared
 * buckets) and the memory adapter (a node without Redis).
 *
 * 1. Redis, one take at a time: latency (p50, p99);
 * 2. Redis, `--inflight` takes at once over one connection (ioredis
 *    pipelines them), spread over `--users` keys: takes per second, this
 *    process's CPU per take, and Redis's (INFO cpu, before and after);
 * 3. memory: takes per CPU-second.
 *
 *   flock -w 900 /tmp/shutter-heavy.lock node --conditions=source --import tsx \
 *     load-tests/src/rate-limit-bench.ts [--seconds 5] [--inflight 100] [--users 10000]
 *
 * Keys under a prefix of their own, deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MemoryRateLimiter, type RateLimiter, RedisRateLimiter } from '@shutter/server/limits';
import { Redis } from 'ioredis';
import { Hdr } from './runner/hdr.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    inflight: { type: 'string', default: '100' },
    users: { type: 'string', default: '10000' },
    'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});
const seconds = Number(args.seconds);
const inflight = Number(args.inflight);
const users = Number(args.users);
// The design's rule: a user's 100 writes a minute.
const rule = { limit: 100, periodMs: 60_000 };
const key = (i: number) => `write:u:${i % users}`;

async function redisCpuSeconds(r: Redis): Promise<number> {
  const info = await r.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

async function sequential(l: RateLimiter, n: number): Promise<Hdr> {
  const h = new Hdr();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await l.take(key(i), rule);
    h.record(performance.now() - t);
  }
  return h;
}

/** `inflight` loops taking for `seconds`: takes done, and this process's CPU seconds. */
async function concurrent(
  l: RateLimiter,
): Promise<{ takes: number; refused: number; cpu: number; wall: number }> {
  let takes = 0;
  let refused = 0;
  let next = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (performance.now() < end) {
        const d = await l.take(key(next++), rule);
        takes++;
        if (!d.ok) refused++;
      }
    }),
  );
  const c = process.cpuUsage(cpu0);
  return { takes, refused, cpu: (c.user + c.system) / 1e6, wall: (performance.now() - start) / 1000 };
}

const q = (h: Hdr, p: number) => h.quantile(p).toFixed(3);

async function main(): Promise<void> {
  const prefix = `bench_rl_${randomBytes(4).toString('hex')}`;
  const redis = new Redis(args['redis-url']!);
  const admin = new Redis(args['redis-url']!);
  try {
    const r = new RedisRateLimiter(redis, prefix);
    await sequential(r, 500); // warm up: the script cached, the connection hot
    const seq = await sequential(r, 5000);
    console.log(`redis, one at a time: p50 ${q(seq, 0.5)} ms, p99 ${q(seq, 0.99)} ms (${seq.count} takes)`);
    const cpu0 = await redisCpuSeconds(admin);
    const c = await concurrent(r);
    const redisCpu = (await redisCpuSeconds(admin)) - cpu0;
    console.log(
      `redis, ${inflight} in flight over ${users} keys: ${Math.round(c.takes / c.wall)} takes/s` +
        ` (${c.refused} refused); client ${(1e6 * (c.cpu / c.takes)).toFixed(1)} µs CPU per take;` +
        ` redis ${(1e6 * (redisCpu / c.takes)).toFixed(1)} µs CPU per take (${Math.round(c.takes / redisCpu)} per redis CPU-second)`,
    );
    const m = await concurrent(new MemoryRateLimiter({ maxKeys: 100_000 }));
    console.log(
      `memory: ${Math.round(m.takes / m.cpu)} takes per CPU-second (${m.takes} in ${m.wall.toFixed(1)} s)`,
    );
  } finally {
    const keys = await admin.keys(`${prefix}:*`);
    for (let i = 0; i < keys.length; i += 1000) await admin.del(...keys.slice(i, i + 1000));
    await Promise.all([redis.quit(), admin.quit()]);
  }
}

await main();
