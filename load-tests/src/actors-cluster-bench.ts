/**
 * Actor cluster benchmark (docs/performance.md, "Actor cluster").
 *
 *   node --conditions=source --import tsx load-tests/src/actors-cluster-bench.ts [--rounds 3] [--seconds 4] [--inflight 100]
 *
 * 1. Cross-node ask over NATS beside raw NATS request/reply, same process,
 *    same run, alternating rounds: two cluster nodes (each its own NATS
 *    connection), asks from node A to actors whose shards node B owns, so
 *    every ask crosses the bus; raw: connection A requests, connection B replies.
 *    The actor does no I/O (`persistence: 'none'`): this measures routing.
 * 2. Settling after a node dies: three node processes (the integration
 *    tests' counter node, Postgres state), SIGKILL one, time until every shard
 *    is owned elsewhere and until an actor of the dead node answers again.
 */
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ActorSystem, ClusterNode, defineActor, MemoryStateStore } from '@shutter/actors';
import { NatsBus, NatsShardMapStore, NodeProcess, stateStoreMigrations } from '@shutter/server/cluster';
import { migrate, PgSql } from '@shutter/server/sql';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '4' },
    inflight: { type: 'string', default: '100' },
    nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    skipFailover: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const INFLIGHT = Number(values.inflight);
const name = `bench_cluster_${Date.now().toString(36)}`;
const out = (s: string) => process.stdout.write(`${s}\n`);

const Echo = defineActor({
  name: 'echo',
  initialState: () => ({}),
  persistence: 'none',
  handlers: { echo: (ctx, msg: { body: string }) => `${ctx.id}:${msg.body.length}` },
});

interface Figures {
  rate: number;
  p50: number;
  p99: number;
}

/** Runs `op` with `INFLIGHT` in flight for `SECONDS`; rate and latency percentiles (ms). */
async function drive(op: (i: number) => Promise<unknown>): Promise<Figures> {
  const lat: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  let i = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op(i++);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? 0;
  return { rate: lat.length / secs, p50: pct(0.5), p99: pct(0.99) };
}

async function crossNode(): Promise<void> {
  // noAsyncTraces on both (raw and actor use these same connections): otherwise
  // nats.js builds two Error objects per request for stack traces, ~30 % of the CPU here.
  const opts = { servers: values.nats, noAsyncTraces: true };
  const [nc1, nc2] = await Promise.all([connect(opts), connect(opts)]);
  const map1 = await NatsShardMapStore.open(nc1, name);
  const map2 = await NatsShardMapStore.open(nc2, name);
  const timings = { heartbeatMs: 500, leaseMs: 3000, settleMs: 600 };
  const a = new ClusterNode({ nodeId: 'bench-a', store: map1, bus: new NatsBus(nc1, name), ...timings });
  const b = new ClusterNode({ nodeId: 'bench-b', store: map2, bus: new NatsBus(nc2, name), ...timings });
  const store = new MemoryStateStore();
  const sa = new ActorSystem({ store, placement: a }).register(Echo);
  const sb = new ActorSystem({ store, placement: b }).register(Echo);
  await Promise.all([a.start(sa), b.start(sb)]);
  while (
    a.stats().ownedShards + b.stats().ownedShards < 1024 ||
    a.stats().ownedShards === 0 ||
    b.stats().ownedShards === 0
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 500));
  const remote: string[] = [];
  for (let i = 0; remote.length < 1000; i++)
    if (a.locate(a.shardOf('echo', `e${i}`)).kind === 'remote') remote.push(`e${i}`);
  const body = 'x'.repeat(32);
  // Raw: the same payload size as an envelope, one hop each way.
  const rawPayload = new TextEncoder().encode(
    JSON.stringify({ type: 'echo', id: 'e1', msg: { type: 'echo', body }, kind: 'ask', deadline: 0 }),
  );
  const sub = nc2.subscribe(`${name}.raw`, {
    callback: (_e, m) => {
      m.respond(m.data);
    },
  });
  await nc2.flush();
  const raw = (nc: NatsConnection) => () => nc.request(`${name}.raw`, rawPayload, { timeout: 5000 });
  const actor = (i: number) =>
    sa.ref(Echo, remote[i % remote.length]!).ask({ type: 'echo', body }, { deadlineMs: 5000 });
  for (let i = 0; i < 200; i++) await actor(i); // activate
  const rawRuns: Figures[] = [];
  const actorRuns: Figures[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    rawRuns.push(await drive(raw(nc1)));
    actorRuns.push(await drive(actor));
  }
  const med = (xs: Figures[], k: keyof Figures) =>
    xs.map((x) => x[k]).sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
  const line = (label: string, xs: Figures[]) =>
    `${label}: ${Math.round(med(xs, 'rate'))}/s (rounds ${xs.map((x) => Math.round(x.rate)).join(', ')}), p50 ${med(xs, 'p50').toFixed(1)} ms, p99 ${med(xs, 'p99').toFixed(1)} ms`;
  out(`raw NATS request/reply, ${INFLIGHT} in flight — ${line('', rawRuns)}`);
  out(`cross-node actor ask, ${INFLIGHT} in flight — ${line('', actorRuns)}`);
  out(
    `ratio (median rates): ${((100 * med(actorRuns, 'rate')) / med(rawRuns, 'rate')).toFixed(0)} % of raw (target ≥ 80 %)`,
  );
  out(`node a: ${JSON.stringify({ forwarded: a.stats().forwarded, retries: a.stats().retries })}`);
  sub.unsubscribe();
  await Promise.all([a.stop(), b.stop()]);
  await Promise.all([sa.stop(), sb.stop()]);
  await map1.destroy();
  await Promise.all([nc1.close(), nc2.close()]);
}

async function failover(timing: { heartbeatMs: number; leaseMs: number }): Promise<void> {
  const schema = `${name}_f${timing.leaseMs}`;
  const sql = new PgSql(values.postgres, schema, 2);
  await sql.ensureSchema();
  await migrate(sql, stateStoreMigrations);
  const nc = await connect({ servers: values.nats });
  const map = await NatsShardMapStore.open(nc, schema);
  const entry = fileURLToPath(new URL('../../server/test/fixtures/counter-node.ts', import.meta.url));
  const nodes = Array.from({ length: 3 }, (_, i) => {
    const settings = {
      nodeId: `f${i}`,
      natsUrl: values.nats,
      subjectPrefix: schema,
      bucket: schema,
      postgresUrl: values.postgres,
      schema,
      ...timing,
    };
    return new NodeProcess({ entry, args: [JSON.stringify(settings)] });
  });
  const ports = (await Promise.all(nodes.map((n) => n.ready))).map((r) => Number(r.port));
  const owners = async () =>
    (await map.list())
      .filter((e) => e.key.startsWith('shard.'))
      .map((e) => e.value as { owner: string; state: string });
  for (;;) {
    const o = await owners();
    if (
      o.length === 1024 &&
      new Set(o.map((x) => x.owner)).size === 3 &&
      o.every((x) => x.state === 'active')
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const ask = async (port: number, id: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/ask`, {
      method: 'POST',
      body: JSON.stringify({ requests: [{ id, msg: 'inc', timeoutMs: 250 }] }),
    });
    return ((await res.json()) as { results: { ok: boolean }[] }).results[0]?.ok === true;
  };
  // An actor on the victim's shard, asked through a survivor.
  let probe = '';
  for (let i = 0; !probe; i++) {
    const r = (await (await fetch(`http://127.0.0.1:${ports[0]}/locate?id=p${i}`)).json()) as {
      location: { node?: string };
    };
    if (r.location.node === 'f2') probe = `p${i}`;
  }
  if (!(await ask(ports[0]!, probe))) throw new Error('probe failed before the kill');
  const killedAt = performance.now();
  nodes[2]!.signal('SIGKILL');
  let ownedAt = 0;
  let answeredAt = 0;
  await Promise.all([
    (async () => {
      for (;;) {
        const o = await owners();
        if (o.every((x) => x.owner !== 'f2' && x.state === 'active'))
          return void (ownedAt = performance.now() - killedAt);
        await new Promise((r) => setTimeout(r, 20));
      }
    })(),
    (async () => {
      while (!(await ask(ports[0]!, probe).catch(() => false))) await new Promise((r) => setTimeout(r, 10));
      answeredAt = performance.now() - killedAt;
    })(),
  ]);
  out(
    `SIGKILL, heartbeat ${timing.heartbeatMs} ms / lease ${timing.leaseMs} ms: every shard owned elsewhere after ${Math.round(ownedAt)} ms; an actor of the dead node answered again after ${Math.round(answeredAt)} ms`,
  );
  await Promise.all(nodes.map((n) => n.stop()));
  await map.destroy();
  await nc.close();
  await sql.query(`DROP SCHEMA ${schema} CASCADE`);
  await sql.close();
}

out(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
await crossNode();
if (!values.skipFailover) {
  await failover({ heartbeatMs: 250, leaseMs: 1500 });
  await failover({ heartbeatMs: 1000, leaseMs: 5000 });
}
process.exit(0);
