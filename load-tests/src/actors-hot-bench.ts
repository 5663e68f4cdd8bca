/**
 * Durable state changes on one hot actor (docs/performance.md, "Durable state
 * changes on one hot actor"; DESIGN target: durable likes on one hot photo,
 * ≥ 10 000 acknowledged per second).
 *
 *   node --conditions=source --import tsx load-tests/src/actors-hot-bench.ts [--rounds 3] [--seconds 5] [--inflight 256]
 *     [--warmup 1] [--maxKeys N] [--postgres URL] [--skipPglite] [--skipPostgres]
 *
 * One `ActorSystem` (`SingleNodePlacement`) on a `SqlStateStore`: Postgres in a
 * schema of its own (created, migrated, dropped at the end even on error),
 * then PGlite in memory (the embedded default; `--skipPglite` to leave it out).
 * `--inflight` callers ask ONE `photo` actor to `like` for `--seconds`; an ask
 * is answered only after the transaction holding its state change committed
 * (`persistence: 'turn'`, the default: `DurableState.reply` holds the reply
 * until the write's `GroupCommit` transaction resolved). Two variants per
 * round, alternating: (a) no idempotency key, (b) a unique idempotency key per
 * ask (a UUIDv7, as the SDK makes them; each stored in the key table in the
 * transaction of its state change; `--maxKeys N` sizes the keys an
 * activation keeps in memory, default the runtime's). Each run uses a fresh actor id; at the
 * end the count is read straight from `actor_state` and must equal the
 * acknowledged asks (exit 1 otherwise).
 *
 * Figures per run: acknowledged asks per second (wall) and per CPU-second of
 * this process, CPU-seconds of the Postgres server processes in the same
 * window (from /proc), p50/p99 ask latency, transactions, writes (rows) per
 * transaction, acknowledged asks per transaction, mean time per transaction
 * and the size of the actor's row. Median over the rounds.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ActorSystem, defineActor, SingleNodePlacement, type StateStore, uuidv7 } from '@shutter/actors';
import { SqlStateStore, stateStoreMigrations } from '@shutter/server/cluster';
import { migrate, PgliteSql, PgSql, type Sql } from '@shutter/server/sql';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    /** An unreported run first (JIT, connections, Postgres caches). */
    warmup: { type: 'string', default: '1' },
    inflight: { type: 'string', default: '256' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    skipPglite: { type: 'boolean', default: false },
    skipPostgres: { type: 'boolean', default: false },
    /** Keys an activation keeps in memory in variant (b); default: the runtime's. */
    maxKeys: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const INFLIGHT = Number(values.inflight);
const MAX_KEYS = values.maxKeys === undefined ? undefined : Number(values.maxKeys);
const TARGET = 10_000;
const out = (s: string) => process.stdout.write(`${s}\n`);
const f = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d });

const Photo = defineActor({
  name: 'photo',
  initialState: () => ({ likes: 0 }),
  handlers: {
    like: (ctx) => {
      ctx.setState({ likes: ctx.state.likes + 1 });
      return ctx.state.likes;
    },
    get: (ctx) => ctx.state.likes,
  },
});

type Variant = 'plain' | 'keyed';

interface Run {
  acked: number;
  failed: number;
  perSec: number;
  perCpuSec: number;
  pgCpuSec: number;
  p50: number;
  p99: number;
  transactions: number;
  writesPerTx: number;
  acksPerTx: number;
  durable: number;
  /** Mean time from `saveBatch` called to settled (one transaction: BEGIN, fence, UPDATE, COMMIT). */
  commitMs: number;
  stateBytes: number;
  /** Key-table rows of this run's actor, and in all (the keys kept so far). */
  keysMine: number;
  keysAll: number;
  /** Keyed asks that had to read the key table (not answered from memory or newer than the horizon). */
  keyLookups: number;
}

/** utime + stime (seconds) of every `postgres` process, by pid (0 when /proc is unreadable). */
function postgresCpu(): Map<string, number> {
  const m = new Map<string, number>();
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return m;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const fields = stat.slice(close + 2).split(' ');
      m.set(pid, (Number(fields[11]) + Number(fields[12])) / 100); // utime, stime in clock ticks (100/s)
    } catch {
      // gone meanwhile
    }
  }
  return m;
}

function pgCpuDelta(before: Map<string, number>, after: Map<string, number>): number {
  let s = 0;
  for (const [pid, t] of after) s += t - (before.get(pid) ?? t); // processes that lived through the window
  return s;
}

/** Counts transactions and the writes in them around any store. */
function counting(store: StateStore) {
  const c = { transactions: 0, writes: 0, commitMs: 0 };
  const wrapped: StateStore = {
    load: (t, id) => store.load(t, id),
    save: (w) => store.save(w),
    fence: (s, e) => store.fence(s, e),
    lookupKeys: (t, id, keys) => store.lookupKeys(t, id, keys),
    pruneKeys: (before, limit) => store.pruneKeys(before, limit),
    saveBatch: (ws) => {
      c.transactions++;
      c.writes += ws.length;
      const t = performance.now();
      const p = store.saveBatch(ws);
      const done = () => {
        c.commitMs += performance.now() - t;
      };
      p.then(done, done);
      return p;
    },
  };
  return { store: wrapped, c };
}

/** The count as committed, read straight from the table, and the size of the row's JSON text. */
async function durableLikes(sql: Sql, id: string): Promise<{ likes: number; bytes: number }> {
  const r = await sql.query<{ state: string }>('SELECT state FROM actor_state WHERE type = $1 AND id = $2', [
    'photo',
    id,
  ]);
  const row = r.rows[0];
  if (!row) return { likes: 0, bytes: 0 };
  return {
    likes: (JSON.parse(row.state) as { state: { likes: number } }).state.likes,
    bytes: row.state.length,
  };
}

/** Rows in the key table: this run's actor's, and all (the keys kept, across runs). */
async function keyRowsKept(sql: Sql, id: string): Promise<{ mine: number; all: number }> {
  const r = await sql.query<{ mine: number; all: number }>(
    'SELECT count(*) FILTER (WHERE id = $1)::int AS mine, count(*)::int AS all FROM actor_keys',
    [id],
  );
  return { mine: Number(r.rows[0]?.mine ?? 0), all: Number(r.rows[0]?.all ?? 0) };
}

async function runOnce(sql: Sql, variant: Variant, id: string, seconds = SECONDS): Promise<Run> {
  const { store, c } = counting(new SqlStateStore(sql));
  const sys = new ActorSystem({
    store,
    placement: new SingleNodePlacement(),
    defaultDeadlineMs: 30_000,
    ...(MAX_KEYS === undefined ? {} : { idempotency: { maxKeys: MAX_KEYS } }),
  }).register(Photo);
  try {
    const ref = sys.ref(Photo, id);
    await ref.ask({ type: 'get' }); // activate (fence + load), no write
    const lat: number[] = [];
    let acked = 0;
    let failed = 0;
    const cpu0 = process.cpuUsage();
    const pg0 = postgresCpu();
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    const tx0 = c.transactions;
    const w0 = c.writes;
    const ms0 = c.commitMs;
    await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        while (performance.now() < end) {
          const s = performance.now();
          try {
            await ref.ask(
              { type: 'like' },
              variant === 'keyed' ? { idempotencyKey: `like:${uuidv7()}` } : undefined,
            );
            lat.push(performance.now() - s);
            acked++;
          } catch {
            failed++;
          }
        }
      }),
    );
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const pgCpuSec = pgCpuDelta(pg0, postgresCpu());
    const transactions = c.transactions - tx0;
    const writes = c.writes - w0;
    lat.sort((a, b) => a - b);
    const pct = (q: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * q))] ?? 0;
    const durable = await durableLikes(sql, id);
    const keys = await keyRowsKept(sql, id);
    const lookups = sys.stats().keyLookups;
    const commitMs = (c.commitMs - ms0) / Math.max(1, transactions);
    return {
      acked,
      failed,
      perSec: acked / wall,
      perCpuSec: acked / ((cpu.user + cpu.system) / 1e6),
      pgCpuSec,
      p50: pct(0.5),
      p99: pct(0.99),
      transactions,
      writesPerTx: writes / Math.max(1, transactions),
      acksPerTx: acked / Math.max(1, transactions),
      durable: durable.likes,
      commitMs,
      stateBytes: durable.bytes,
      keysMine: keys.mine,
      keysAll: keys.all,
      keyLookups: lookups,
    };
  } finally {
    await sys.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Runs both variants `ROUNDS` times (alternating) and prints each run and the medians. */
async function bench(label: string, sql: Sql): Promise<boolean> {
  const server = sql.kind === 'postgres';
  const runs: Record<Variant, Run[]> = { plain: [], keyed: [] };
  let ok = true;
  if (WARMUP > 0) {
    await runOnce(sql, 'plain', 'warmup-plain', WARMUP / 2);
    await runOnce(sql, 'keyed', 'warmup-keyed', WARMUP / 2);
  }
  for (let r = 0; r < ROUNDS; r++) {
    const order: Variant[] = r % 2 === 0 ? ['plain', 'keyed'] : ['keyed', 'plain'];
    for (const v of order) {
      const run = await runOnce(sql, v, `hot-${v}-${r}`);
      runs[v].push(run);
      // Keyed: one key-table row per acknowledged ask, no more, no less.
      const check =
        run.durable === run.acked && run.failed === 0 && run.keysMine === (v === 'keyed' ? run.acked : 0);
      ok &&= check;
      out(
        `  ${label} ${v === 'plain' ? '(a) no key ' : '(b) unique key'} round ${r + 1}: ${f(run.perSec)}/s  ${f(run.perCpuSec)}/CPU-s${server ? ` (Postgres server ${f(run.pgCpuSec, 2)} CPU-s)` : ''}  p50 ${f(run.p50, 1)} ms  p99 ${f(run.p99, 1)} ms  ${f(run.transactions)} tx, ${f(run.writesPerTx, 2)} writes/tx, ${f(run.acksPerTx, 1)} acks/tx, ${f(run.commitMs, 2)} ms/tx, row ${f(run.stateBytes)} B, key table ${f(run.keysAll)} rows (this run ${f(run.keysMine)}), ${f(run.keyLookups)} key lookups  — acked ${f(run.acked)}, failed ${run.failed}, durable ${f(run.durable)} ${check ? 'OK' : 'MISMATCH'}`,
      );
    }
  }
  for (const v of ['plain', 'keyed'] as const) {
    const xs = runs[v];
    const m = (k: keyof Run) => median(xs.map((x) => x[k]));
    out(
      `${label} ${v === 'plain' ? '(a) no idempotency key' : '(b) unique idempotency key per ask'}: median ${f(m('perSec'))}/s (rounds ${xs.map((x) => f(x.perSec)).join(', ')}) = ${f((100 * m('perSec')) / TARGET)} % of the ${f(TARGET)}/s target; ${f(m('perCpuSec'))}/CPU-s; p50 ${f(m('p50'), 1)} ms, p99 ${f(m('p99'), 1)} ms; ${f(m('acksPerTx'), 1)} acks and ${f(m('writesPerTx'), 2)} writes per transaction, ${f(m('commitMs'), 2)} ms per transaction, row ${f(m('stateBytes'))} B${server ? `; Postgres server ${f(m('pgCpuSec') / SECONDS, 2)} CPU-s per wall-s` : ' (PGlite runs in this process: its work is in the CPU-s figure)'}`,
    );
  }
  return ok;
}

async function onPostgres(): Promise<boolean> {
  const schema = `bench_hot_${Date.now().toString(36)}_${process.pid}`;
  const sql = new PgSql(values.postgres, schema, 4);
  try {
    await sql.ensureSchema();
    await migrate(sql, stateStoreMigrations);
    return await bench('Postgres', sql);
  } finally {
    await sql.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch((e) => out(`drop schema failed: ${e}`));
    await sql.close();
  }
}

async function onPglite(): Promise<boolean> {
  const sql = await PgliteSql.open(undefined, 'shutter');
  try {
    await migrate(sql, stateStoreMigrations);
    return await bench('PGlite', sql);
  } finally {
    await sql.close();
  }
}

out(
  `# actors-hot-bench  machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
out(
  `# ${INFLIGHT} callers on one actor, ${SECONDS} s per run, ${ROUNDS} rounds per variant, maxKeys ${MAX_KEYS ?? 'default'} (in memory; every key in the key table)`,
);
let ok = true;
if (!values.skipPostgres) ok = (await onPostgres()) && ok;
if (!values.skipPglite) ok = (await onPglite()) && ok;
out(
  `# load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; durable count = acknowledged asks in every run: ${ok ? 'yes' : 'NO'}`,
);
process.exit(ok ? 0 : 1);
