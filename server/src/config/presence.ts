import { int } from './settings.js';

/** Presence: who is online, for their followers (issue 11 §1, docs/architecture.md "Presence"). */
export const presenceSettings = {
  graceMs: int(
    'PRESENCE_GRACE_MS',
    5000,
    0,
    600_000,
    "A user stays online this long after their last socket closed: a reconnect within it sends followers nothing, and after it they get one offline event. Also the grace of the users of a node that died, counted from the node's last heartbeat.",
  ),
  updateMs: int(
    'PRESENCE_UPDATE_MS',
    1000,
    20,
    60_000,
    'Each watcher (a `presence:<id>` subscription) gets at most one presence event per this interval; changes in between are batched into the next one.',
  ),
  heartbeatMs: int(
    'PRESENCE_HEARTBEAT_MS',
    1000,
    50,
    60_000,
    'How often each node tells the presence store it is alive, and looks for nodes that stopped (and users whose grace ran out on a node that is gone).',
  ),
  nodeTimeoutMs: int(
    'PRESENCE_NODE_TIMEOUT_MS',
    3000,
    100,
    600_000,
    "A node whose heartbeat is older than this is dead: the surviving nodes take its users' sessions away (they go offline after the grace, counted from its last heartbeat). Must be at least twice PRESENCE_HEARTBEAT_MS.",
  ),
  watchLeaseMs: int(
    'PRESENCE_WATCH_LEASE_MS',
    60_000,
    1000,
    3_600_000,
    'A subscription to `presence:<id>` (the people one follows) lapses this long after its last `sub` unless the client renews it (the SDK renews at half of it).',
  ),
};

/** Presence settings that cannot work together, one sentence each. */
export function presenceContradictions(p: { heartbeatMs: number; nodeTimeoutMs: number }): string[] {
  return p.nodeTimeoutMs < 2 * p.heartbeatMs
    ? [
        `PRESENCE_NODE_TIMEOUT_MS (${p.nodeTimeoutMs}) must be at least twice PRESENCE_HEARTBEAT_MS (${p.heartbeatMs}), or a live node that is a little late is taken for dead.`,
      ]
    : [];
}
