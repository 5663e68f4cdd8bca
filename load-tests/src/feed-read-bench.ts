/**
 * Feed read benchmark (docs/performance.md, "Feed reads"): a seeded social
 * graph (default 100 000 users, ~1 000 000 follow edges, 1 000 000 posts),
 * one Shutter node on PGlite or on Postgres + Redis, and `GET /v1/feed`
 * pages read over HTTP by `--concurrency` loops for sampled users:
 *
 * - cold: each sampled user's first read after the node started with no
 *   feeds cached (every read rebuilds the feed from Postgres) — the same
 *   work as after the cache was lost;
 * - warm: `--seconds` of reads (first page, and the next page by its cursor)
 *   of users whose feeds are cached;
 * - after a cache loss: the feed keys deleted (Redis) or the node restarted
 *   (in-memory store), then each sampled user's first read again.
 *
 *   node --conditions=source --import tsx load-tests/src/feed-read-bench.ts --store postgres [--users 100000]
 *   node --conditions=source --import tsx load-tests/src/feed-read-bench.ts --store pglite
 *
 * The node runs as its own process (server/src/main.ts); this process only
 * sends requests and keeps the histograms. Loopback only; bounded in time;
 * drops its schema and Redis keys at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { capabilities } from '@shutter/server/capabilities';
import { mediaProcessingMigrations } from '@shutter/server/media';
import { Databases, migrate, PgliteSql, PgSql, type Sql } from '@shutter/server/sql';
import { Redis } from 'ioredis';
import { mintHs256 } from './fanout/jwt.js';
import { Hdr } from './runner/hdr.js';
import { freePort } from './runner/target.js';
import { seedSocial } from './seed/social-seed.js';

const { values: args } = parseArgs({
  options: {
    store: { type: 'string', default: 'postgres' },
    users: { type: 'string', default: '100000' },
    follows: { type: 'string', default: '10' },
    posts: { type: 'string', default: '10' },
    sample: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '20' },
    limit: { type: 'string', default: '20' },
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const store = args.store === 'pglite' ? 'pglite' : 'postgres';
const users = Number(args.users);
const sampleSize = Math.min(users, Number(args.sample));
const concurrency = Number(args.concurrency);
const seconds = Number(args.seconds);
const limit = Number(args.limit);
for (const u of [args['database-url'], args['redis-url']]) {
  if (!['127.0.0.1', 'localhost'].includes(new URL(u).hostname) && !new URL(u).hostname.startsWith('127.'))
    throw new Error(`${u}: benchmarks talk to loopback only`);
}
const root = fileURLToPath(new URL('../..', import.meta.url));
const namespace = `bench_feed_${Date.now().toString(36)}`;
const secret = 'feed-read-bench-secret-0123456789abcdef';
const dataDir = mkdtempSync(join(tmpdir(), 'shutter-feed-bench-'));
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

async function openDb(): Promise<{ db: Databases; sqls: Sql[] }> {
  if (store === 'pglite') {
    const lite = await PgliteSql.open(join(dataDir, 'pglite'), namespace);
    return { db: Databases.single(lite), sqls: [lite] };
  }
  const pg = new PgSql(args['database-url'], namespace, 4);
  await pg.ensureSchema();
  return { db: Databases.single(pg), sqls: [pg] };
}

let child: ChildProcess | undefined;
let port = 0;
async function startNode(): Promise<void> {
  port ||= await freePort();
  child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'server/src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      NAMESPACE: namespace,
      AUTH_JWT_SECRET: secret,
      MAX_HTTP_REQUESTS: '10000',
      ...(store === 'postgres' ? { DATABASE_URL: args['database-url'], REDIS_URL: args['redis-url'] } : {}),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const end = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error('the node exited');
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return;
    } catch {}
    if (Date.now() > end) throw new Error('the node did not become ready');
    await new Promise((r) => setTimeout(r, 200));
  }
}
async function stopNode(): Promise<void> {
  const c = child;
  if (!c || c.exitCode !== null) return;
  await new Promise((r) => {
    c.once('exit', r);
    c.kill('SIGTERM');
  });
}

interface Reader {
  id: string;
  token: string;
}

async function readPage(
  r: Reader,
  cursor?: string,
): Promise<{ items: unknown[]; nextCursor: string | null }> {
  const q = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
  const res = await fetch(`http://127.0.0.1:${port}/v1/feed?${q}`, {
    headers: { authorization: `Bearer ${r.token}` },
  });
  if (!res.ok) throw new Error(`GET /v1/feed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { items: unknown[]; nextCursor: string | null };
}

/** Each reader's first page once, `concurrency` at a time: what reads cost with nothing cached. */
async function firstReads(readers: Reader[]): Promise<{ h: Hdr; ms: number; items: number }> {
  const h = new Hdr();
  let next = 0;
  let items = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < readers.length) {
        const r = readers[next++]!;
        const s = performance.now();
        const page = await readPage(r); // (not `items += await …`: that reads `items` before the await)
        items += page.items.length;
        h.record(performance.now() - s);
      }
    }),
  );
  return { h, ms: performance.now() - t0, items };
}

async function warmReads(readers: Reader[]): Promise<{ h: Hdr; ms: number; reads: number }> {
  const h = new Hdr();
  let reads = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, k) => {
      let i = k;
      while (performance.now() < end) {
        const r = readers[i % readers.length]!;
        i += concurrency;
        let s = performance.now();
        const page = await readPage(r);
        h.record(performance.now() - s);
        reads++;
        if (page.nextCursor) {
          s = performance.now();
          await readPage(r, page.nextCursor);
          h.record(performance.now() - s);
          reads++;
        }
      }
    }),
  );
  return { h, ms: performance.now() - t0, reads };
}

const row = (what: string, h: Hdr, perSecond: number) =>
  `| ${store} | ${what} | ${h.count} | ${perSecond.toFixed(0)} | ${h.quantile(0.5).toFixed(1)} | ${h.quantile(0.99).toFixed(1)} |`;

const { db, sqls } = await openDb();
try {
  await db.migrate(capabilities.flatMap((c) => c.migrations ?? []));
  await migrate(db.home, mediaProcessingMigrations);
  log(`seeding ${users} users on ${store} (namespace ${namespace})`);
  let lastLog = 0;
  const seeded = await seedSocial(db, {
    users,
    followsPerUser: Number(args.follows),
    postsPerUser: Number(args.posts),
    celebrities: Math.max(1, Math.floor(users / 20_000)),
    celebrityFollowers: Math.min(users - 1, 20_000),
    days: 30,
    seed: 7,
    progress: (table, done, total) => {
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        log(`  ${table}: ${done}/${total}`);
      }
    },
  });
  log(
    `seeded ${seeded.users.length} users, ${seeded.edges} edges, ${seeded.posts} posts in ${(seeded.ms / 1000).toFixed(1)} s`,
  );
  if (store === 'pglite') for (const s of sqls) await s.close();

  const step = Math.max(1, Math.floor(users / sampleSize));
  const readers: Reader[] = [];
  for (let i = seeded.celebrities.length; readers.length < sampleSize && i < users; i += step) {
    const id = seeded.users[i]!.id;
    readers.push({ id, token: mintHs256(secret, id, 7200) });
  }

  await startNode();
  log(`node up on ${port}; cold reads of ${readers.length} feeds`);
  const cold = await firstReads(readers);
  log(`warm reads for ${seconds} s`);
  const warm = await warmReads(readers);
  if (store === 'postgres') {
    const redis = new Redis(args['redis-url']);
    let deleted = 0;
    for await (const keys of redis.scanStream({ match: `${namespace}:*`, count: 1000 })) {
      // Everything of the namespace (feeds and their markers; nothing here subscribes to streams).
      const list = keys as string[];
      if (list.length) deleted += await redis.del(...list);
    }
    await redis.quit();
    log(`cache lost: ${deleted} Redis keys deleted`);
  } else {
    await stopNode();
    await startNode();
    log('cache lost: node restarted (in-memory feed store)');
  }
  const lost = await firstReads(readers);
  console.log(
    `\nFeed reads, ${users} users, ${seeded.edges} edges, ${seeded.posts} posts; page ${limit}; ${concurrency} concurrent readers\n`,
  );
  console.log('| store | reads | count | reads/s | p50 ms | p99 ms |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(row('cold (nothing cached: rebuild)', cold.h, (cold.h.count / cold.ms) * 1000));
  console.log(row('warm', warm.h, (warm.reads / warm.ms) * 1000));
  console.log(row('after a cache loss', lost.h, (lost.h.count / lost.ms) * 1000));
  console.log(`\nitems per cold first page: ${(cold.items / readers.length).toFixed(1)}`);
} finally {
  await stopNode();
  if (store === 'postgres') {
    const admin = new PgSql(args['database-url'], 'public', 1);
    await admin.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
    await admin.close();
    for (const s of sqls) await s.close().catch(() => {});
  }
  rmSync(dataDir, { recursive: true, force: true });
}
