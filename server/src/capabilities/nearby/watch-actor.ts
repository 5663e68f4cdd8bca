import { type ActorRef, type ActorSystem, type AnyActorType, defineActor } from '@shutter/actors';
import type { CapabilityPorts } from '../operation.js';
import { FriendChecks, nearbyList, within } from './list.js';
import { radiusOfStream } from './stream-name.js';
import { NearbyWatch, signature } from './watch.js';

/**
 * The live side of one user's list, kept in memory (`changed in place` on
 * purpose, like the post actor's live side: never saved, gone with the
 * activation; viewers come back with their next renewal).
 */
export interface WatchState {
  readonly watch: NearbyWatch;
  /** Friends checked against the graph lately (see `FriendChecks`). */
  readonly checks: FriendChecks;
}

/**
 * The `nearby` actor, keyed by the user id, so it runs on the user's node
 * (their shard): it computes the user's list every NEARBY_PUSH_INTERVAL_MS
 * while anyone views `nearby:<id>[:<radius>]`, and publishes it on each
 * viewed stream when it changed there (and at once to a new viewer). One
 * computation serves every radius viewed (the largest, cut down for the
 * smaller), and friends checked against the graph are not checked again
 * every tick (`FriendChecks`). The next tick is set when one ends, so ticks never pile up
 * behind a slow one; with no viewer left no tick is set and the actor
 * passivates like any other. A failed tick is reported by the runtime and
 * the next one tries again, so the last list sent is always the truth
 * eventually.
 */
export function makeNearbyActor(ports: CapabilityPorts) {
  const c = ports.config.nearby;
  return defineActor({
    name: 'nearby',
    initialState: (): WatchState => ({
      watch: new NearbyWatch(),
      checks: new FriendChecks(c.friendsCacheMs),
    }),
    persistence: 'none',
    handlers: {
      view(ctx, msg: { stream: string; viewer: string; leaseMs: number }): void {
        if (ctx.state.watch.view(msg.stream, msg.viewer, msg.leaseMs, ports.now()))
          ctx.setTimer('tick', 0, { type: 'tick' });
      },
      leave(ctx, msg: { stream: string; viewer: string }): void {
        ctx.state.watch.leave(msg.stream, msg.viewer);
      },
      async tick(ctx): Promise<void> {
        const w = ctx.state.watch;
        const streams = w.streams(ports.now());
        if (streams.length === 0) return;
        try {
          const radii = new Map(streams.map((s) => [s, radiusOfStream(s, c.radiusMeters)]));
          const computed = await nearbyList(ports, ctx.id, Math.max(...radii.values()), ctx.state.checks);
          for (const [stream, radius] of radii) {
            const list = within(computed, radius);
            const sig = signature(list);
            if (!w.due(stream, sig)) continue;
            await ports.streams.publish(stream, { type: 'nearby', ...list });
            w.sentOut(stream, sig);
          }
        } finally {
          ctx.setTimer('tick', c.pushIntervalMs, { type: 'tick' });
        }
      },
    },
  });
}

export type NearbyActorType = ReturnType<typeof makeNearbyActor>;

const registered = new WeakMap<ActorSystem, NearbyActorType>();

/** Makes the type for a node and remembers it for `nearbyRef`. */
export function registerNearbyActor(ports: CapabilityPorts): AnyActorType {
  const type = makeNearbyActor(ports);
  registered.set(ports.actors, type);
  return type as unknown as AnyActorType;
}

/** The nearby actor of `userId` on this node's actor system. */
export function nearbyRef(actors: ActorSystem, userId: string): ActorRef<NearbyActorType['handlers']> {
  const type = registered.get(actors);
  if (!type) throw new Error('the nearby actor is not registered on this node');
  return actors.ref(type, userId);
}
