import { fileURLToPath } from 'node:url';
import { createClient, type ShutterClient } from '@shutter/client-sdk';
import { newId, randomShard, shardOfId } from '@shutter/protocol';
import WebSocket from 'ws';
import { mintHs256 } from './fanout/jwt.js';
import { cpuSeconds } from './fanout/proc.js';
import { openLoop } from './runner/open-loop.js';
import { startNode } from './runner/target.js';
import { withTargetDatabases } from './seed/target-db.js';

const USERS = 2000;
const AUTHORS = 50;

/**
 * Part 3 of `likes-bench.ts`: likes at a normal load as an app waits for
 * them. One node process (`server/src/main.ts` on Postgres and Redis, a
 * namespace of its own that `stop()` drops), `USERS` users and `posts`
 * public posts of `AUTHORS` authors seeded straight into its tables, then
 * `clients` SDK clients (one socket and one user each, as apps hold them)
 * calling `client.api.likes.like` `rate` times a second in all, each call
 * by a random client on a random post, open loop, for `seconds`. The node
 * checks the caller may see the post (two reads), then asks the post actor,
 * which answers after the group commit. At the end every post's
 * `like_count` must equal its rows.
 */
export async function likesEndToEnd(o: {
  databaseUrl: string;
  redisUrl: string;
  rate: number;
  seconds: number;
  posts: number;
  clients: number;
  log: (line: string) => void;
}): Promise<{ ok: boolean }> {
  const target = await startNode({
    repoRoot: fileURLToPath(new URL('../..', import.meta.url)),
    transport: 'ws',
    env: {},
    databaseUrl: o.databaseUrl,
    redisUrl: o.redisUrl,
    natsUrl: '',
    log: o.log,
  });
  const clients: ShutterClient[] = [];
  try {
    const users = Array.from({ length: USERS }, () => newId(randomShard()));
    const authors = users.slice(0, AUTHORS);
    const posts = Array.from({ length: o.posts }, (_, i) => {
      const author = authors[i % AUTHORS] as string;
      return { id: newId(shardOfId(author) as number), author };
    });
    await withTargetDatabases(target, 'likes-bench', async (db) => {
      await db.home.query(
        `INSERT INTO users (id, username) SELECT x, 'lb_' || replace(x::text, '-', '') FROM unnest($1::uuid[]) AS x`,
        [users],
      );
      await db.home.query(
        `INSERT INTO posts (id, author_id, media_ids)
         SELECT p, a, ARRAY['m_bench'] FROM unnest($1::uuid[], $2::uuid[]) AS t(p, a)`,
        [posts.map((p) => p.id), posts.map((p) => p.author)],
      );
    });
    for (const u of users.slice(0, o.clients))
      clients.push(
        createClient({
          url: target.wsUrl,
          token: mintHs256(target.secret, u, 3600),
          WebSocket: WebSocket as never,
        }),
      );
    for (const c of clients) c.connect();
    await Promise.all(clients.map((c) => c.ready(30_000)));
    const like = async () => {
      const p = posts[Math.floor(Math.random() * posts.length)]!;
      await clients[Math.floor(Math.random() * clients.length)]!.api.likes.like({ id: p.id });
    };
    const warm = await openLoop(o.rate, 2, like); // warm-up: JIT, connections, activations
    const cpu0 = nodeCpuMs(target.pid);
    const n = await openLoop(o.rate, o.seconds, like);
    const cpuPerLike = (nodeCpuMs(target.pid) - cpu0) / n.sent;
    const check = await withTargetDatabases(target, 'likes-bench', async (db) => {
      const r = await db.home.query<{ wrong: number }>(
        `SELECT count(*)::int AS wrong FROM posts
          WHERE like_count <> (SELECT count(*) FROM likes WHERE likes.post_id = posts.id)`,
      );
      return r.rows[0]?.wrong ?? -1;
    });
    const ok = warm.failed === 0 && n.failed === 0 && check === 0;
    const f = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 1 });
    o.log(
      `Postgres normal load through a node (${o.rate} likes.like a second from ${o.clients} SDK clients over WebSocket, ${o.posts} posts, ${o.seconds} s): p50 ${f(n.h.quantile(0.5))} ms, p99 ${f(n.h.quantile(0.99))} ms, max ${f(n.h.max)} ms; node CPU ${f(cpuPerLike * 1000)} µs per like — sent ${n.sent}, failed ${n.failed}, posts whose count differs from their rows: ${check} ${ok ? 'OK' : 'MISMATCH'}`,
    );
    return { ok };
  } finally {
    for (const c of clients) c.disconnect();
    await target.stop();
  }
}

/** CPU time (user + system, ms) of a process so far (`cpuSeconds`); 0 when unreadable. */
function nodeCpuMs(pid: number | undefined): number {
  try {
    return pid === undefined ? 0 : cpuSeconds(pid) * 1000;
  } catch {
    return 0;
  }
}
