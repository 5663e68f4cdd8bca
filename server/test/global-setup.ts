import pg from 'pg';
import { postgresUrl, postgresUrlB } from './services.js';

/**
 * Once before the integration tests: the second database test nodes use as
 * a physical shard (`postgresUrlB`) exists. Created here, not by CI, so
 * `npm test` alone works on a machine that has only the `test` database.
 */
export default async function setup(): Promise<void> {
  const name = new URL(postgresUrlB).pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected test database name ${name}`);
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0)
      await client.query(`CREATE DATABASE ${name}`).catch((e: { code?: string }) => {
        // Another run created it at the same moment.
        if (e.code !== '42P04' && e.code !== '23505') throw e;
      });
  } finally {
    await client.end();
  }
}
