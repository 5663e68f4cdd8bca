/**
 * `npm run cluster -- --nodes 3`: starts N cluster node processes against the
 * NATS and Postgres on this machine, prefixes their output with their names,
 * and drains them all on Ctrl-C (SIGINT/SIGTERM).
 *
 * Options: --nodes N (3); --entry main (default: the real node, `npm start`
 * with CLUSTER=true, ports from --port, default 8081), --entry counter (the
 * integration tests' counter node, a `counter` actor and a control port per
 * node) or --entry FILE; --nats, --postgres, --redis URLs; --name NAME (namespace: subject
 * prefix, KV bucket, schema; default a fresh `dev_<time>`); --keep (leave
 * bucket and schema in place at exit); --secret S (the nodes' shared
 * AUTH_JWT_SECRET, default $AUTH_JWT_SECRET or a random one, printed with a
 * token for user `alice`).
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { NatsShardMapStore } from '../adapters/nats-shard-map.js';
import { stateStoreMigrations } from '../adapters/sql-state-store.js';
import { HsMinter } from '../auth/tokens.js';
import { migrate, PgSql } from '../sql/index.js';
import { type NodeEvent, NodeProcess } from './local-cluster.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    entry: { type: 'string', default: 'main' },
    nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
    postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    port: { type: 'string', default: '8081' },
    name: { type: 'string', default: `dev_${Date.now().toString(36)}` },
    keep: { type: 'boolean', default: false },
    secret: { type: 'string' },
  },
});
const count = Number(values.nodes);
if (!Number.isInteger(count) || count < 1) throw new Error('--nodes must be a positive integer');
const name = values.name;
// CLUSTER=true needs one token key on every node (a development secret is per
// node): AUTH_JWT_SECRET from --secret, the environment, or made up for this run.
const secret = values.secret ?? process.env.AUTH_JWT_SECRET ?? randomBytes(32).toString('base64url');

const sql = new PgSql(values.postgres, name, 2);
await sql.ensureSchema();
await migrate(sql, stateStoreMigrations);

// `--entry main`: the real node (server/src/main.ts) with CLUSTER=true, one
// HTTP/WebSocket port each from --port; `counter` or a file: one that prints
// `{"event":"ready","port":…}` and takes the counter node's JSON settings.
const main = values.entry === 'main';
const entry = main
  ? fileURLToPath(new URL('../main.ts', import.meta.url))
  : values.entry === 'counter'
    ? fileURLToPath(new URL('../../test/fixtures/counter-node.ts', import.meta.url))
    : values.entry;
const nodes = Array.from({ length: count }, (_, i) => {
  const nodeId = `n${i + 1}-${process.pid}`;
  const settings = {
    nodeId,
    natsUrl: values.nats,
    subjectPrefix: name,
    bucket: name,
    postgresUrl: values.postgres,
    schema: name,
  };
  const env = {
    ...process.env,
    CLUSTER: 'true',
    NATS_URL: values.nats,
    DATABASE_URL: values.postgres,
    REDIS_URL: values.redis,
    NAMESPACE: name,
    AUTH_JWT_SECRET: secret,
    NODE_ID: `n${i + 1}`,
    HOST: '127.0.0.1',
    PORT: String(Number(values.port) + i),
  };
  return new NodeProcess({
    entry,
    args: main ? [] : [JSON.stringify(settings)],
    env: main ? env : process.env,
    readyWhen: main
      ? (e) => String(e.line ?? '').includes('"msg":"node started"')
      : (e) => e.event === 'ready',
    onEvent: (e) => process.stdout.write(`[${nodeId}] ${e.line ?? JSON.stringify(e)}\n`),
  });
});
const ready = await Promise.all(nodes.map((n) => n.ready));
const portOf = (e: NodeEvent) => (main ? (JSON.parse(String(e.line)) as { port: number }).port : e.port);
process.stdout.write(
  `cluster ${name}: ${ready.map((r, i) => `node ${i + 1} on http://127.0.0.1:${portOf(r)}`).join(', ')}\n`,
);
if (main) {
  // Development tokens are off with a configured key: mint one here to try the cluster with.
  const sample = await new HsMinter(new TextEncoder().encode(secret)).mint('alice', 3600);
  process.stdout.write(
    `AUTH_JWT_SECRET=${secret} (shared by the nodes; sign your tokens with it, HS256, sub = user id)\n` +
      `a token for user alice, valid 1 h: ${sample.token}\n`,
  );
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.all(nodes.map((n) => n.stop()));
  if (!values.keep) {
    const nc = await connect({ servers: values.nats });
    // node.ts keeps its shard map in `<namespace>_shards`.
    await (await NatsShardMapStore.open(nc, main ? `${name}_shards` : name)).destroy();
    await nc.close();
    await sql.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
  }
  await sql.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
