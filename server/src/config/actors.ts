import { int } from './settings.js';

/** The actor runtime and, with CLUSTER=true, the cluster. */
export const actorSettings = {
  idleMs: int(
    'ACTOR_IDLE_MS',
    120_000,
    1_000,
    86_400_000,
    'An actor with no message for this long is passivated (state saved, memory freed).',
  ),
  askTimeoutMs: int(
    'ACTOR_ASK_TIMEOUT_MS',
    10_000,
    100,
    600_000,
    'Deadline of a request that asks an actor.',
  ),
  idempotencyWindowSeconds: int(
    'IDEMPOTENCY_WINDOW_SECONDS',
    86_400,
    60,
    30 * 86_400,
    'How long an idempotency key of an actor method is honoured, counted from the time in the key (a UUIDv7 or ULID): a retry within it is answered with the first reply, an older key is refused with idempotency_key_expired. Keys stay in the actor_keys table this long (plus 5 minutes), pruned in the background.',
  ),
  shardCount: int(
    'SHARD_COUNT',
    1024,
    1,
    65_536,
    'Logical shards actors are hashed into; fixed for the life of a deployment.',
  ),
  heartbeatMs: int('CLUSTER_HEARTBEAT_MS', 1000, 100, 60_000, 'How often a node renews its membership.'),
  leaseMs: int(
    'CLUSTER_LEASE_MS',
    5000,
    300,
    300_000,
    'A node silent for this long is taken for dead and its shards move.',
  ),
  handoffTimeoutMs: int(
    'CLUSTER_HANDOFF_TIMEOUT_MS',
    10_000,
    100,
    600_000,
    'Longest a shard handoff may take before the coordinator moves on.',
  ),
};
