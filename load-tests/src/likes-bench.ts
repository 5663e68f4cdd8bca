/**
 * Durable likes (docs/performance.md, "Likes"; DESIGN targets: durable likes
 * on one hot post ≥ 10 000 acknowledged per second in the runtime; like
 * acknowledged at a normal load, p99 ≤ 50 ms).
 *
 *   node --conditions=source --import tsx load-tests/src/likes-bench.ts [--seconds 5] [--rounds 3]
 *     [--inflight 512] [--rate 500] [--posts 1000] [--normal-seconds 10] [--postgres URL]
 *     [--stores postgres,pglite] [--parts hot,normal,e2e] [--clients 200]
 *
 * On Postgres (a schema of its own, dropped at the end) and on PGlite (the
 * embedded default, on disk in a temporary directory), with every
 * capability's tables, the `post` actor of the server (`makePostActor`: the
 * reentrant actor and its per-post group commit, exactly as a node runs it)
 * on one `ActorSystem`:
 *
 * 1. **hot post**: `--inflight` callers ask ONE post's actor to `like`, each
 *    ask by a user who has not liked it yet, for `--seconds`; an ask is
 *    answered after its transaction committed. Acknowledged likes per second,
 *    p50/p99 ask latency, commits (one `likes.changed` each) and likes per
 *    commit; at the end `like_count` and the rows must both equal the
 *    acknowledged likes (exit 1 otherwise). `--rounds` rounds, median.
 * 2. **normal load**: `--rate` likes a second (open loop: sent on schedule
 *    whatever the answers do, latency measured from the scheduled time)
 *    spread over `--posts` posts, for `--normal-seconds`; p50/p99.
 * 3. **normal load through a node** (Postgres only): the same rate as
 *    `likes.like` calls of `--clients` SDK clients over WebSocket to a node
 *    process (`server/src/main.ts`, Postgres + Redis), which checks the
 *    caller may see the post before asking the actor: what an app waits
 *    (`likes-bench-e2e.ts`).
 *
 * Loopback only; bounded in time; stops by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ActorSystem, MemoryStateStore, SingleNodePlacement } from '@shutter/actors';
import { newId, randomShard } from '@shutter/protocol';
import { capabilities, DomainEvents, loadConfig, makePostActor } from '@shutter/server/capabilities';
import { Databases, PgliteSql, PgSql, type Sql } from '@shutter/server/sql';
import { likesEndToEnd } from './likes-bench-e2e.js';
import { Hdr } from './runner/hdr.js';
import { openLoop } from './runner/open-loop.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    inflight: { type: 'string', default: '512' },
    rate: { type: 'string', default: '500' },
    posts: { type: 'string', default: '1000' },
    'normal-seconds': { type: 'string', default: '10' },
    clients: { type: 'string', default: '200' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    stores: { type: 'string', default: 'postgres,pglite' },
    parts: { type: 'string', default: 'hot,normal,e2e' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const INFLIGHT = Number(values.inflight);
const RATE = Number(values.rate);
const POSTS = Number(values.posts);
const NORMAL_SECONDS = Number(values['normal-seconds']);
const CLIENTS = Number(values.clients);
const STORES = new Set(values.stores.split(','));
const PARTS = new Set(values.parts.split(','));
const TARGET = 10_000;
for (const u of [values.postgres, values.redis])
  if (!/^(127\.|localhost$)/.test(new URL(u).hostname))
    throw new Error(`${u}: benchmarks talk to loopback only`);
const out = (s: string) => process.stdout.write(`${s}\n`);
const f = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** One node's worth of the post actor on `sql`, counting commits. */
function postActors(sql: Sql) {
  const events = new DomainEvents();
  const commits = { n: 0 };
  events.on('likes.changed', () => {
    commits.n++;
  });
  const log = { error: (...args: unknown[]) => out(`ERROR ${JSON.stringify(args)}`) };
  // No viewers here: the post's live side (streams, its settings) is never used.
  const streams = { publish: async () => ({ epoch: '', seq: 0 }), publishBatch: async () => [] };
  const Post = makePostActor({
    db: Databases.single(sql),
    events,
    log,
    streams,
    config: loadConfig({}),
    now: Date.now,
  });
  const system = new ActorSystem({
    store: new MemoryStateStore(),
    placement: new SingleNodePlacement(),
    defaultDeadlineMs: 30_000,
  }).register(Post);
  const like = (postId: string, userId: string) => system.ref(Post, postId).ask({ type: 'like', userId });
  return { system, like, commits };
}

/** Live post rows by one author, written straight into the table; their ids. */
async function insertPosts(sql: Sql, n: number): Promise<string[]> {
  const shard = randomShard();
  const author = newId(shard);
  const ids = Array.from({ length: n }, () => newId(shard));
  await sql.query(
    `INSERT INTO posts (id, author_id, media_ids) SELECT x, $2, ARRAY['m_bench'] FROM unnest($1::uuid[]) AS x`,
    [ids, author],
  );
  return ids;
}

/** `like_count` summed and the `likes` rows, over `postIds`. */
async function durable(sql: Sql, postIds: string[]): Promise<{ counted: number; rows: number }> {
  const r = await sql.query<{ counted: number; rows: number }>(
    `SELECT (SELECT coalesce(sum(like_count), 0)::int FROM posts WHERE id = ANY($1::uuid[])) AS counted,
            (SELECT count(*)::int FROM likes WHERE post_id = ANY($1::uuid[])) AS rows`,
    [postIds],
  );
  return r.rows[0] ?? { counted: -1, rows: -1 };
}

interface HotRun {
  acked: number;
  failed: number;
  perSec: number;
  p50: number;
  p99: number;
  commits: number;
  ok: boolean;
}

async function hotRun(sql: Sql, seconds: number): Promise<HotRun> {
  const { system, like, commits } = postActors(sql);
  try {
    const [postId] = (await insertPosts(sql, 1)) as [string];
    const h = new Hdr();
    let acked = 0;
    let failed = 0;
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        while (performance.now() < end) {
          const s = performance.now();
          try {
            await like(postId, newId(randomShard()));
            h.record(performance.now() - s);
            acked++;
          } catch {
            failed++;
          }
        }
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    const d = await durable(sql, [postId]);
    return {
      acked,
      failed,
      perSec: acked / wall,
      p50: h.quantile(0.5),
      p99: h.quantile(0.99),
      commits: commits.n,
      ok: failed === 0 && d.counted === acked && d.rows === acked,
    };
  } finally {
    await system.stop();
  }
}

async function bench(label: string, sql: Sql): Promise<boolean> {
  let ok = true;
  if (PARTS.has('hot')) ok = (await hot(label, sql)) && ok;
  if (PARTS.has('normal')) ok = (await normal(label, sql)) && ok;
  return ok;
}

async function hot(label: string, sql: Sql): Promise<boolean> {
  let ok = true;
  await hotRun(sql, 1); // warm-up: JIT, connections, caches
  const runs: HotRun[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const run = await hotRun(sql, SECONDS);
    runs.push(run);
    ok &&= run.ok;
    out(
      `  ${label} hot post, round ${r + 1}: ${f(run.perSec)}/s  p50 ${f(run.p50, 1)} ms  p99 ${f(run.p99, 1)} ms  ${f(run.commits)} commits, ${f(run.acked / Math.max(1, run.commits), 1)} likes/commit — acked ${f(run.acked)}, failed ${run.failed}, count = rows = acked: ${run.ok ? 'OK' : 'MISMATCH'}`,
    );
  }
  const m = (k: 'perSec' | 'p50' | 'p99') => median(runs.map((x) => x[k]));
  out(
    `${label} hot post (${INFLIGHT} in flight): median ${f(m('perSec'))} acknowledged likes/s (${f((100 * m('perSec')) / TARGET)} % of the ${f(TARGET)}/s target), p50 ${f(m('p50'), 1)} ms, p99 ${f(m('p99'), 1)} ms`,
  );

  return ok;
}

async function normal(label: string, sql: Sql): Promise<boolean> {
  let ok = true;
  const { system, like } = postActors(sql);
  try {
    const posts = await insertPosts(sql, POSTS);
    const pick = () => posts[Math.floor(Math.random() * posts.length)] as string;
    const send = () => like(pick(), newId(randomShard()));
    const warm = await openLoop(RATE, 2, send); // warm-up: JIT, connections, activations
    const n = await openLoop(RATE, NORMAL_SECONDS, send);
    const d = await durable(sql, posts);
    const fine =
      warm.failed === 0 && n.failed === 0 && d.counted === n.sent + warm.sent && d.rows === d.counted;
    ok &&= fine;
    out(
      `${label} normal load (${f(RATE)} likes/s over ${f(POSTS)} posts, ${NORMAL_SECONDS} s, in the runtime): p50 ${f(n.h.quantile(0.5), 1)} ms, p99 ${f(n.h.quantile(0.99), 1)} ms, max ${f(n.h.max, 1)} ms — sent ${f(n.sent)}, failed ${n.failed}, count = rows = sent: ${fine ? 'OK' : 'MISMATCH'}`,
    );
  } finally {
    await system.stop();
  }
  return ok;
}

async function onPostgres(): Promise<boolean> {
  const schema = `bench_likes_${Date.now().toString(36)}_${process.pid}`;
  const sql = new PgSql(values.postgres, schema); // the node's pool size
  try {
    await sql.ensureSchema();
    await Databases.single(sql).migrate(capabilities.flatMap((c) => c.migrations ?? []));
    return await bench('Postgres', sql);
  } finally {
    await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch((e) => out(`drop schema failed: ${e}`));
    await sql.close();
  }
}

async function onPglite(): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'shutter-likes-bench-'));
  const sql = await PgliteSql.open(join(dir, 'pglite'), 'shutter');
  try {
    await Databases.single(sql).migrate(capabilities.flatMap((c) => c.migrations ?? []));
    return await bench('PGlite', sql);
  } finally {
    await sql.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

out(
  `# likes-bench  machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
out(`# hot post: ${INFLIGHT} callers, ${SECONDS} s per round, ${ROUNDS} rounds; each like by a new user`);
let ok = true;
if (STORES.has('postgres') && (PARTS.has('hot') || PARTS.has('normal'))) ok = (await onPostgres()) && ok;
if (STORES.has('pglite') && (PARTS.has('hot') || PARTS.has('normal'))) ok = (await onPglite()) && ok;
if (STORES.has('postgres') && PARTS.has('e2e')) {
  const r = await likesEndToEnd({
    databaseUrl: values.postgres,
    redisUrl: values.redis,
    rate: RATE,
    seconds: NORMAL_SECONDS,
    posts: POSTS,
    clients: CLIENTS,
    log: out,
  });
  ok &&= r.ok;
}
out(
  `# load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; count = rows = acknowledged in every run: ${ok ? 'yes' : 'NO'}`,
);
process.exit(ok ? 0 : 1);
