import type { Bus } from '../runtime/bus.js';
import { ShardNotOwned } from '../runtime/errors.js';
import {
  type ActorEnvelope,
  DEFAULT_SHARD_COUNT,
  type Placement,
  type ShardLocation,
} from '../runtime/placement.js';
import { ClusterView } from './cluster-view.js';
import { type ClusterContext, type ClusterLog, type ClusterTimings, newCounters } from './context.js';
import { Coordinator } from './coordinator.js';
import { shardOf } from './hash.js';
import { Liveness } from './liveness.js';
import { Membership } from './membership.js';
import { NODE_ID, type ShardRecord } from './records.js';
import { Router } from './router.js';
import { type ShardHost, ShardKeeper } from './shard-keeper.js';
import type { ShardMapStore } from './shard-map-store.js';
import type { ClusterStats } from './stats.js';

export interface ClusterNodeOptions extends Partial<ClusterTimings> {
  /** Unique per process incarnation (a restarted process takes a new id): `[A-Za-z0-9_-]{1,64}`. */
  nodeId: string;
  store: ShardMapStore;
  bus: Bus;
  /** Bus subject prefix for actor traffic (`<prefix>.node.<id>`). */
  subjectPrefix?: string;
  /** Stop serving owned shards once our own heartbeat is a lease old (default true). */
  selfFence?: boolean;
  now?: () => number;
  log?: ClusterLog;
}

export const CLUSTER_DEFAULTS = {
  shardCount: DEFAULT_SHARD_COUNT,
  heartbeatMs: 1000,
  leaseMs: 5000,
  handoffTimeoutMs: 10_000,
  sweepAfterMs: 30_000,
  settleMs: 1000,
} as const satisfies ClusterTimings;

const MOVING: ShardLocation = { kind: 'moving' };

/**
 * Every this many ticks a node re-reads the whole map. The watch is the fast
 * path; a change it missed (seen once: a write racing the watcher's creation)
 * would otherwise stay out of this node's view until that key changed again.
 * `ClusterView.load` merges by revision, so re-reading is harmless.
 */
export const RELIST_EVERY_TICKS = 30;

/**
 * One node of the actor cluster, and the `Placement` its `ActorSystem` uses.
 * Composition only: the view (`ClusterView`), this node's heartbeat
 * (`Membership`), the coordinator role (`Coordinator`), handoffs and drops
 * (`ShardKeeper`) and node-to-node messages (`Router`). docs/cluster.md tells
 * the whole story.
 *
 * Lifecycle: construct, build the `ActorSystem` with this as its placement,
 * `start(system)`, and on shutdown `drain()` (hands shards off) then `stop()`.
 */
export class ClusterNode implements Placement {
  readonly nodeId: string;
  private readonly ctx: ClusterContext;
  private readonly membership: Membership;
  private readonly liveness: Liveness;
  private readonly coordinator: Coordinator;
  /** The record each shard had before its latest change (to tell a takeover from a handoff). */
  private readonly lastRecord: (ShardRecord | undefined)[];
  private reload = false;
  private storeDown = false;
  private lastTickError: string | undefined;
  private repeatedTickErrors = 0;
  private readonly router: Router;
  private keeper: ShardKeeper | undefined;
  private host: ShardHost | undefined;
  private readonly selfFence: boolean;
  private timer: ReturnType<typeof setInterval> | undefined;
  private kickTimer: ReturnType<typeof setTimeout> | undefined;
  private unwatch: (() => void) | undefined;
  private ticking = false;
  private lastTickAt = 0;
  private wasFenced = false;
  private ticks = 0;
  private state: 'new' | 'running' | 'draining' | 'stopped' = 'new';

  constructor(options: ClusterNodeOptions) {
    if (!NODE_ID.test(options.nodeId)) throw new TypeError(`node id ${options.nodeId} must match ${NODE_ID}`);
    this.nodeId = options.nodeId;
    const timings: ClusterTimings = { ...CLUSTER_DEFAULTS };
    for (const k of Object.keys(CLUSTER_DEFAULTS) as (keyof ClusterTimings)[]) {
      const v = options[k];
      if (v !== undefined) timings[k] = v;
    }
    if (timings.heartbeatMs * 2 > timings.leaseMs)
      throw new RangeError('leaseMs must be at least twice heartbeatMs');
    this.ctx = {
      nodeId: options.nodeId,
      store: options.store,
      view: new ClusterView(timings.shardCount, options.now ?? Date.now),
      timings,
      counters: newCounters(),
      now: options.now ?? Date.now,
      log: options.log ?? (() => {}),
    };
    this.selfFence = options.selfFence ?? true;
    this.membership = new Membership(this.ctx);
    this.liveness = new Liveness(this.ctx);
    this.coordinator = new Coordinator(this.ctx, this.liveness);
    this.lastRecord = new Array(timings.shardCount).fill(undefined);
    this.router = new Router(
      options.bus,
      options.subjectPrefix ?? 'actors',
      options.nodeId,
      this.ctx.counters,
      (type, id) => this.shardOf(type, id),
    );
  }

  shardOf(type: string, id: string): number {
    return shardOf(type, id, this.ctx.timings.shardCount);
  }

  locate(shard: number): ShardLocation {
    const loc = this.where(shard);
    const c = this.ctx.counters;
    if (loc.kind === 'local') c.routedLocal++;
    else if (loc.kind === 'remote') c.routedRemote++;
    else c.routedMoving++;
    return loc;
  }

  forward(node: string, envelope: ActorEnvelope, deadline: number): Promise<unknown> {
    return this.router.forward(node, envelope, deadline);
  }

  /** Joins the cluster: watch the map, register, serve, and start the heartbeat. */
  async start(host: ShardHost): Promise<void> {
    if (this.state !== 'new') throw new Error('a ClusterNode starts once');
    this.host = host;
    const keeper = new ShardKeeper(this.ctx, host);
    this.keeper = keeper;
    const { view, store } = this.ctx;
    view.onChange((c) => {
      if (c.kind === 'shard') {
        keeper.onShardChange(c.shard);
        this.onShardChange(c.shard);
      } else if (c.kind === 'member' && c.node === this.nodeId && view.members().has(this.nodeId)) {
        this.liveness.ownSeen(this.ctx.now());
      }
      this.kick();
    });
    const w = await store.watch((c) => view.apply(c), { onReset: () => this.onStoreReset() });
    this.unwatch = () => w.stop();
    view.load(await store.list(), { fromStamps: true });
    await this.membership.heartbeat();
    this.router.start((env) => this.receive(env));
    this.state = 'running';
    this.timer = setInterval(() => void this.tick(), this.ctx.timings.heartbeatMs);
    await this.tick();
  }

  /**
   * Leaves the cluster gracefully: mark ourselves leaving, let the
   * coordinator move every shard away by handoff (each saved before release),
   * then stop whatever is still active here and deregister. Resolves when
   * done or after `timeoutMs` (then the rest is left to lease expiry).
   */
  async drain(timeoutMs = 2 * this.ctx.timings.leaseMs): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'draining';
    const end = this.ctx.now() + timeoutMs;
    await this.membership.setLeaving();
    await this.tick();
    // Nobody to hand over to: keep nothing running and leave the shards to
    // whoever joins later (they take them over at a higher epoch).
    while (this.ctx.now() < end && this.ownedShards() > 0 && this.otherLiveMembers() > 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.keeper?.idle();
    for (const s of [...(this.host?.activeShards() ?? [])]) await this.host?.stopShard(s).catch(() => {});
    await this.coordinator.tick(false).catch(() => {});
    this.ctx.log('drained', { node: this.nodeId, left: this.ownedShards() });
  }

  /** Stops timers, the watch and the node's subject, and deregisters. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearInterval(this.timer);
    clearTimeout(this.kickTimer);
    this.unwatch?.();
    this.router.stop();
    await this.membership.deregister();
  }

  /** Shards whose record names this node as owner (active or handing off). */
  ownedShards(): number {
    let n = 0;
    for (let s = 0; s < this.ctx.timings.shardCount; s++)
      if (this.ctx.view.shard(s)?.value.owner === this.nodeId) n++;
    return n;
  }

  stats(): ClusterStats {
    const { view, counters } = this.ctx;
    const now = this.ctx.now();
    const live = [...view.members().values()].filter((m) => this.liveness.alive(m, now));
    return {
      node: this.nodeId,
      state: this.state,
      coordinator: this.coordinator.isLeader(),
      fenced: this.fenced(),
      ownedShards: this.ownedShards(),
      assignedShards: view.assignedCount(),
      members: live.length,
      ...counters,
      retries: counters.routedMoving + counters.forwardRetryable,
    };
  }

  private otherLiveMembers(): number {
    const now = this.ctx.now();
    let n = 0;
    for (const [node, m] of this.ctx.view.members()) {
      if (node !== this.nodeId && !m.value.leaving && this.liveness.alive(m, now)) n++;
    }
    return n;
  }

  /**
   * A shard's owner changed without the old owner releasing it (a takeover:
   * the record went from active on one node straight to another): asks in
   * flight to the old owner will not be answered in time, if ever. The
   * router settles them now (re-sent when keyed, `actor_timeout` otherwise).
   */
  private onShardChange(shard: number): void {
    const prev = this.lastRecord[shard];
    const rec = this.ctx.view.shard(shard)?.value;
    this.lastRecord[shard] = rec;
    if (prev?.state === 'active' && rec && rec.owner !== prev.owner && rec.epoch > prev.epoch) {
      this.router.ownerLost(shard, prev.owner);
    }
  }

  /**
   * The shard map was lost and replaced by an empty one (NATS restarted
   * without its store): forget the view, our registration and any lease;
   * the next tick registers again and reloads, and the coordinator assigns
   * every shard afresh at epoch = now, above every epoch the store fenced.
   */
  private onStoreReset(): void {
    this.ctx.log('shard_map_reset', { node: this.nodeId });
    this.ctx.view.reset();
    this.liveness.reset();
    this.membership.reset();
    this.coordinator.reset();
    this.reload = true;
    void this.tick();
  }

  private where(shard: number): ShardLocation {
    const rec = this.ctx.view.shard(shard)?.value;
    if (!rec || rec.state === 'moving') return MOVING;
    if (rec.owner !== this.nodeId) return { kind: 'remote', node: rec.owner };
    if (this.keeper?.blocked(shard) || this.fenced()) return MOVING;
    return { kind: 'local', epoch: rec.epoch };
  }

  private fenced(): boolean {
    return this.selfFence && this.state !== 'new' && this.membership.expired(this.ctx.now());
  }

  private receive(envelope: ActorEnvelope): Promise<unknown> {
    const shard = this.shardOf(envelope.type, envelope.id);
    if (this.where(shard).kind !== 'local' || !this.host) {
      this.ctx.counters.rejectedNotOwned++;
      throw new ShardNotOwned(shard);
    }
    return this.host.deliverLocal(envelope);
  }

  private async tick(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'new') return;
    const now = this.ctx.now();
    if (now - this.lastTickAt > 2 * this.ctx.timings.heartbeatMs && this.lastTickAt > 0) {
      // The event loop or the store is too slow for the heartbeat: peers may soon think us dead.
      this.ctx.log('tick_late', { node: this.nodeId, ms: now - this.lastTickAt, busy: this.ticking });
    }
    if (this.ticking) return;
    this.lastTickAt = now;
    this.ticking = true;
    try {
      // Recreates a lost map (and resets the view through the watch's onReset).
      await this.ctx.store.ensure().then(
        () => {
          if (this.storeDown) this.ctx.log('shard_map_reachable', { node: this.nodeId });
          this.storeDown = false;
        },
        (e: unknown) => {
          // Once per outage: every tick fails alike until it ends.
          if (!this.storeDown) this.ctx.log('shard_map_unreachable', { node: this.nodeId, error: String(e) });
          this.storeDown = true;
        },
      );
      await this.membership.heartbeat();
      if (++this.ticks % RELIST_EVERY_TICKS === 0 || this.reload) {
        this.ctx.view.load(await this.ctx.store.list());
        this.reload = false;
      }
      const fenced = this.fenced();
      if (fenced !== this.wasFenced) {
        this.wasFenced = fenced;
        this.ctx.log(fenced ? 'self_fenced' : 'self_unfenced', { node: this.nodeId });
      }
      // A draining coordinator keeps its role until its own shards are gone.
      const eligible = this.state === 'running' || (this.state === 'draining' && this.coordinator.isLeader());
      await this.coordinator.tick(eligible);
      this.tickFailed(undefined);
    } catch (e) {
      this.tickFailed(String(e));
    } finally {
      this.ticking = false;
    }
    // Not awaited: a rebalance of hundreds of keys must never delay the next
    // heartbeat or lease renewal (peers would think us dead).
    this.coordinator
      .rebalance()
      .catch((e: unknown) => this.ctx.log('rebalance_failed', { error: String(e) }));
  }

  /**
   * Logs a failed tick once per distinct error: the same error again (every
   * tick of an outage fails alike) is counted, and the count is logged when
   * the error changes or ticks succeed again.
   */
  private tickFailed(error: string | undefined): void {
    if (error !== undefined && error === this.lastTickError) {
      this.repeatedTickErrors++;
      return;
    }
    if (this.repeatedTickErrors > 0) {
      this.ctx.log('tick_failed_repeated', {
        node: this.nodeId,
        error: this.lastTickError,
        times: this.repeatedTickErrors,
      });
    }
    this.repeatedTickErrors = 0;
    this.lastTickError = error;
    if (error !== undefined) this.ctx.log('tick_failed', { node: this.nodeId, error });
  }

  /** A map change may need a re-plan: coalesce bursts (a rebalance writes hundreds of keys). */
  private kick(): void {
    if (this.kickTimer || !this.coordinator.isLeader()) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = undefined;
      void this.coordinator
        .rebalance()
        .catch((e: unknown) => this.ctx.log('rebalance_failed', { error: String(e) }));
    }, 20);
  }
}
