import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** The real services on this machine that integration tests use (`.ci/run` starts them). */
export const natsUrl = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/**
 * A second database on the same server: test nodes keep logical shards
 * 512–1023 there (DATABASE_SHARDS), so every integration test runs on two
 * physical shards. `server/test/global-setup.ts` creates it if missing.
 */
export const postgresUrlB = process.env.TEST_DATABASE_URL_B ?? withDatabase(postgresUrl, 'test_shard_b');

/** The two-database shard map of test nodes: shards 0–511 in `postgresUrl`, 512–1023 in `postgresUrlB`. */
export const testShards = `0-511=${postgresUrl},512-1023=${postgresUrlB}`;

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A name unique to this run: subject prefixes, Redis key prefixes, schema names. */
export function uniqueName(kind: string): string {
  return `t_${kind}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/**
 * Deletes the JetStream streams a node of `namespace` created and that outlive
 * it (the media work queue `<namespace>_…` and KV buckets `KV_<namespace>_…`).
 */
export async function deleteNamespaceStreams(namespace: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      if (name.startsWith(`${namespace}_`) || name.startsWith(`KV_${namespace}_`)) {
        await jsm.streams.delete(name).catch(() => {});
      }
    }
  } finally {
    await nc.close();
  }
}
