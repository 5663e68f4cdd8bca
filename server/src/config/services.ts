import { bool, int, oneOf, str, url } from './settings.js';

/** Outside services; each empty value selects the embedded default. */
export const serviceSettings = {
  dataDir: str(
    'DATA_DIR',
    './data',
    'Directory of the embedded store (PGlite), local media and the development JWT secret.',
  ),
  databaseUrl: url(
    'DATABASE_URL',
    ['postgres:', 'postgresql:'],
    'PostgreSQL; empty runs the embedded PGlite under DATA_DIR.',
  ),
  databaseShards: str(
    'DATABASE_SHARDS',
    '',
    "Several PostgreSQL databases as physical shards: comma-separated <from>-<to>=<url> ranges of the 1 024 logical shards (0-511=postgres://a/db,512-1023=postgres://b/db), covering each once. Rows live in the database of their owner's logical shard; logical shard 0's database also holds what is not partitioned. Empty: every shard in DATABASE_URL (or PGlite).",
  ),
  redisUrl: url(
    'REDIS_URL',
    ['redis:', 'rediss:'],
    'Redis for stream history (shared by every node, so a client resumes on any of them); empty keeps it in memory.',
  ),
  redisCommandTimeoutMs: int(
    'REDIS_COMMAND_TIMEOUT_MS',
    2000,
    0,
    60_000,
    'A Redis command with no answer after this long fails (0: wait for ever), so a stalled Redis never holds a request: every user of Redis has a fallback or an error for it.',
  ),
  natsUrl: url(
    'NATS_URL',
    ['nats:', 'tls:'],
    'NATS (with JetStream) for the bus and the cluster; empty runs an in-process bus.',
  ),
  namespace: str(
    'NAMESPACE',
    'shutter',
    'Prefix of NATS subjects, Redis keys and the Postgres schema, so several deployments can share services.',
    /^[a-z][a-z0-9_]{0,31}$/,
    'lower-case letters, digits and _ (up to 32), starting with a letter',
  ),
  cluster: bool(
    'CLUSTER',
    false,
    'Run as one node of a cluster: requires NATS_URL, DATABASE_URL, REDIS_URL and AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY, all the same on every node.',
  ),
  logLevel: oneOf(
    'LOG_LEVEL',
    'info',
    ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const,
    'Minimum level of the JSON log on stdout.',
  ),
  env: oneOf(
    'NODE_ENV',
    'development',
    ['development', 'production', 'test'] as const,
    'production: needs AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY, refuses exposed errors, turns dev tokens off, and keeps the admin API and /metrics off unless protected (ADMIN_TOKEN; METRICS_TOKEN or METRICS_LISTEN).',
  ),
};
