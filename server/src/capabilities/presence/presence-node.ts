import { randomBytes } from 'node:crypto';
import type { PresenceEntry } from '@shutter/protocol';
import type { DomainEvents } from '../events.js';
import type { CapabilityPorts } from '../operation.js';
import { seenNow, watchableIds } from './following.js';
import { ChangeOutbox } from './outbox.js';
import { type FollowEdge, PresenceBus } from './presence-bus.js';
import { PresenceTracker } from './tracker.js';
import { PresenceWatchers } from './watchers.js';

/** Presence on one node: its sessions (tracker), its watchers, and the cluster's changes between them. */
export interface PresenceNode {
  readonly tracker: PresenceTracker;
  readonly watchers: PresenceWatchers;
  readonly outbox: ChangeOutbox;
  stop(): Promise<void>;
}

/** This node's presence figures (`/metrics`: `shutter_presence_*`). */
export interface PresenceStats {
  /** Gauges: sessions open here, users watching here, users they watch, watchers with an event due. */
  sessions: number;
  watchers: number;
  watched: number;
  due: number;
  /** Counters. */
  opened: number;
  closed: number;
  settled: number;
  deadNodes: number;
  reapedSessions: number;
  changesIn: number;
  changesKept: number;
  events: number;
}

export const PRESENCE_GAUGES = ['sessions', 'watchers', 'watched', 'due'] as const;

/** The figures of a node's presence (zeros before it started). */
export function presenceStats(ports: Pick<CapabilityPorts, 'events'>): PresenceStats {
  const n = nodes.get(ports.events);
  const t = n?.tracker.stats;
  const w = n?.watchers.stats;
  const counts = n?.watchers.counts();
  return {
    sessions: n?.tracker.sessions ?? 0,
    watchers: counts?.watchers ?? 0,
    watched: counts?.watched ?? 0,
    due: counts?.due ?? 0,
    opened: t?.opened ?? 0,
    closed: t?.closed ?? 0,
    settled: t?.settled ?? 0,
    deadNodes: t?.deadNodes ?? 0,
    reapedSessions: t?.reapedSessions ?? 0,
    changesIn: w?.changesIn ?? 0,
    changesKept: w?.changesKept ?? 0,
    events: w?.events ?? 0,
  };
}

/**
 * Each node's presence, by its domain events object: one per node (several
 * nodes may run in one process: tests), the same in its ports and in every
 * operation's context made from them.
 */
const nodes = new WeakMap<DomainEvents, PresenceNode>();

export function presenceNodeOf(ports: Pick<CapabilityPorts, 'events'>): PresenceNode | undefined {
  return nodes.get(ports.events);
}

/**
 * Starts presence on a node: registers it with the store, follows the
 * gateway's sessions (domain events `session.opened`/`closed`), hears the
 * cluster's presence subject once, and tells it of follows and blocks made
 * here. Stopping ends this node's sessions in the store (their users leave
 * now and the nodes that remain settle them).
 */
export async function startPresenceNode(ports: CapabilityPorts): Promise<PresenceNode> {
  const c = ports.config.presence;
  const log = ports.log;
  const bus = new PresenceBus(ports.bus, (err) => log.warn({ err }, 'presence bus message failed'));
  const outbox = new ChangeOutbox({
    db: ports.db,
    publish: (users) => bus.publishChanges(users),
    onError: (err) => log.warn({ err }, 'presence changes not published yet; retrying'),
  });
  const tracker = new PresenceTracker({
    store: ports.presence,
    // A restarted node with the same NODE_ID is a new node to the store: the old one's sessions get reaped.
    node: `${ports.nodeId}~${randomBytes(3).toString('hex')}`,
    graceMs: c.graceMs,
    heartbeatMs: c.heartbeatMs,
    nodeTimeoutMs: c.nodeTimeoutMs,
    now: ports.now,
    transition: (t) => outbox.offer(t),
    onError: (err, what) => log.warn({ err }, `${what} failed`),
  });
  const watchers = new PresenceWatchers({
    updateMs: c.updateMs,
    now: ports.now,
    following: (userId) => watchableIds(ports.db, userId),
    stateOf: async (userId): Promise<PresenceEntry> =>
      (await seenNow(ports.db, ports.presence, [userId]))[0]!,
    onError: (err, what) => log.warn({ err }, `${what} failed`),
  });
  await tracker.start();
  const unsubscribe = bus.subscribe({
    changes: (users) => watchers.changes(users),
    edges: (edges) => watchers.edges(edges),
    resync: () => watchers.resync(),
  });

  ports.events.on('session.opened', (e) => tracker.opened(e.userId, e.session));
  ports.events.on('session.closed', (e) => tracker.closed(e.userId, e.session));
  ports.events.on('follow.changed', (e) =>
    bus.publishEdges([{ watcher: e.follower, user: e.followee, on: e.state === 'active' }]),
  );
  ports.events.on('block.changed', (e) => {
    if (!e.on) return; // unblocking restores no follow
    const edges: FollowEdge[] = [
      { watcher: e.blocker, user: e.blocked, on: false },
      { watcher: e.blocked, user: e.blocker, on: false },
    ];
    bus.publishEdges(edges);
  });

  const node: PresenceNode = {
    tracker,
    watchers,
    outbox,
    async stop() {
      nodes.delete(ports.events);
      await tracker.stop();
      await outbox.close();
      unsubscribe();
      watchers.close();
    },
  };
  nodes.set(ports.events, node);
  return node;
}
