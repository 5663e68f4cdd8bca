import type { ClusterCounters } from './context.js';

/**
 * One node's cluster figures (`ClusterNode.stats()`), a plain object for the
 * metrics endpoint and for tests. Counters grow from process start.
 *
 * - `routedLocal`/`routedRemote`/`routedMoving`: `locate` answers (one per routing attempt).
 * - `forwarded`: messages sent to other nodes; `received`: messages served for them;
 *   `rejectedNotOwned`: received for a shard not owned here (sender retries).
 * - `retries`: routing attempts that the runtime repeats (moving shard, retryable forward failure).
 * - `handoffsOut`: shards this node stopped and released; `shardsDropped`: shards lost without handoff.
 * - `elections`: times this node became coordinator; `assigned`/`movesStarted`/`takeovers`/
 *   `retargets`/`swept`: what it did as coordinator.
 */
export interface ClusterStats extends ClusterCounters {
  node: string;
  state: 'new' | 'running' | 'draining' | 'stopped';
  coordinator: boolean;
  /** Our heartbeat is older than a lease: we serve no shard until it succeeds again. */
  fenced: boolean;
  ownedShards: number;
  assignedShards: number;
  /** Members with a fresh heartbeat, this node included. */
  members: number;
  retries: number;
}
