import { randomBytes } from 'node:crypto';

/** The real services on this machine that integration tests use (`.ci/run` starts them). */
export const natsUrl = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const postgresUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A name unique to this run: subject prefixes, Redis key prefixes, schema names. */
export function uniqueName(kind: string): string {
  return `t_${kind}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}
