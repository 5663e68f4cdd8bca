import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { type Logger, silentLogger } from '../../src/log.js';
import { type NodeOptions, type ShutterNode, startNode } from '../../src/node.js';
import { PgSql } from '../../src/sql/index.js';
import { postgresUrl, postgresUrlB, testShards, uniqueName } from '../services.js';

export type Transport = 'ws' | 'uws';
export const TRANSPORTS: Transport[] = ['ws', 'uws'];

/**
 * Starts a node on port 0 with the embedded defaults plus `env`, logs
 * silenced. Its relational store is this machine's PostgreSQL in a schema of
 * its own (opening PGlite takes seconds and hundreds of MB per node), dropped
 * again on shutdown: two databases as two physical shards (`testShards`:
 * logical shards 0–511 in `test`, 512–1023 in `test_shard_b`) unless `env`
 * names DATABASE_URL or DATABASE_SHARDS itself — so every test of the domain
 * runs on partitioned storage. `options` go to `startNode` (a test's own
 * subscribe `authorize` rule…).
 */
export async function startTestNode(
  transport: Transport,
  env: Record<string, string> = {},
  logger: Logger = silentLogger(),
  options: Omit<NodeOptions, 'logger'> = {},
): Promise<ShutterNode> {
  const ns = env.NAMESPACE ?? uniqueName('node').toLowerCase().slice(0, 32);
  const sharded = env.DATABASE_URL === undefined && env.DATABASE_SHARDS === undefined;
  const config = loadConfig({
    DATABASE_URL: postgresUrl,
    ...(sharded ? { DATABASE_SHARDS: testShards } : {}),
    NAMESPACE: ns,
    PORT: '0',
    HOST: '127.0.0.1',
    TRANSPORT: transport,
    DATA_DIR: env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'shutter-test-')),
    NODE_ENV: 'test',
    ...env,
  });
  const node = await startNode(config, { ...options, logger });
  const shutdown = node.shutdown.bind(node);
  let dropped: Promise<void> | undefined;
  node.shutdown = () =>
    (dropped ??= (async () => {
      await shutdown();
      if (config.services.databaseUrl !== postgresUrl || env.NAMESPACE) return;
      for (const url of sharded ? [postgresUrl, postgresUrlB] : [postgresUrl]) {
        const admin = new PgSql(url, 'public', 1);
        await admin.query(`DROP SCHEMA IF EXISTS ${ns} CASCADE`);
        await admin.close();
      }
    })());
  return node;
}

export async function devToken(node: ShutterNode, user: string, ttlSeconds = 3600): Promise<string> {
  const minted = await node.minter!.mint(user, ttlSeconds);
  return minted.token;
}

export function wsUrl(node: ShutterNode): string {
  return `${node.url.replace('http', 'ws')}/ws`;
}
