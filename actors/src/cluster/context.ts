import type { ClusterView } from './cluster-view.js';
import type { ShardMapStore } from './shard-map-store.js';

/** Cluster timing and naming, with their defaults (`resolveOptions`). */
export interface ClusterTimings {
  shardCount: number;
  /** How often a node writes its heartbeat, renews the lease and re-plans. */
  heartbeatMs: number;
  /** A node (or the coordinator) silent this long is presumed dead. */
  leaseMs: number;
  /** A handoff whose old owner has not released after this long is forced (epoch + 1). */
  handoffTimeoutMs: number;
  /** Dead members' keys are deleted after this long. */
  sweepAfterMs: number;
  /** A new coordinator waits this long for peers to register before the very first assignment. */
  settleMs: number;
}

export type ClusterLog = (event: string, fields: Record<string, unknown>) => void;

/** Counters behind `ClusterNode.stats()`; components bump them directly. */
export interface ClusterCounters {
  routedLocal: number;
  routedRemote: number;
  routedMoving: number;
  forwarded: number;
  forwardRetryable: number;
  received: number;
  rejectedNotOwned: number;
  handoffsOut: number;
  shardsDropped: number;
  elections: number;
  assigned: number;
  movesStarted: number;
  takeovers: number;
  retargets: number;
  swept: number;
  heartbeatFailures: number;
  casConflicts: number;
}

export const newCounters = (): ClusterCounters => ({
  routedLocal: 0,
  routedRemote: 0,
  routedMoving: 0,
  forwarded: 0,
  forwardRetryable: 0,
  received: 0,
  rejectedNotOwned: 0,
  handoffsOut: 0,
  shardsDropped: 0,
  elections: 0,
  assigned: 0,
  movesStarted: 0,
  takeovers: 0,
  retargets: 0,
  swept: 0,
  heartbeatFailures: 0,
  casConflicts: 0,
});

/** What the cluster's parts share. */
export interface ClusterContext {
  readonly nodeId: string;
  readonly store: ShardMapStore;
  readonly view: ClusterView;
  readonly timings: ClusterTimings;
  readonly counters: ClusterCounters;
  readonly now: () => number;
  readonly log: ClusterLog;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
