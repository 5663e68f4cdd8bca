import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import { NatsJobQueue } from '../src/adapters/nats-job-queue.js';
import { jobQueueMigrations, SqlJobQueue } from '../src/adapters/sql-job-queue.js';
import { jobQueueContract } from '../src/jobs/job-queue-contract.js';
import { migrate, PgliteSql, PgSql } from '../src/sql/index.js';
import { natsUrl, postgresUrl, uniqueName } from './services.js';

let pglite: PgliteSql;
let pg: PgSql;
let nc: NatsConnection;
const schema = uniqueName('jobs');

beforeAll(async () => {
  pglite = await PgliteSql.open(undefined, 'jobs');
  await migrate(pglite, jobQueueMigrations);
  pg = new PgSql(postgresUrl, schema);
  await pg.ensureSchema();
  await migrate(pg, jobQueueMigrations);
  nc = await connect({ servers: natsUrl });
});

afterAll(async () => {
  await pglite?.close();
  await pg?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pg?.close();
  await nc?.close();
});

jobQueueContract(
  'SqlJobQueue on PGlite',
  async (o) => {
    const queue = new SqlJobQueue<{ n: number }>(pglite, uniqueName('q'), { ...o, pollMs: 50 });
    return { queue, cleanup: () => queue.close() };
  },
  300,
);

jobQueueContract(
  'SqlJobQueue on Postgres',
  async (o) => {
    const queue = new SqlJobQueue<{ n: number }>(pg, uniqueName('q'), { ...o, pollMs: 50 });
    return { queue, cleanup: () => queue.close() };
  },
  300,
);

jobQueueContract(
  'NatsJobQueue on JetStream',
  async (o) => {
    const queue = await NatsJobQueue.open<{ n: number }>(nc, uniqueName('q'), o);
    return { queue, cleanup: () => queue.destroy() };
  },
  1_000,
);
