import type { ActorContext } from '@shutter/actors';
import { postStream } from '@shutter/protocol';
import type { CapabilityPorts } from '../operation.js';
import { LivePost, type LiveTimers, type StoredCounts } from './live-post.js';

/**
 * The post actor's live side (docs/architecture.md "Live counts"): its
 * viewers and coalesced `counts` updates on `post:<id>`. The state holds one
 * `LivePost` per activation — the one object of the state that is changed in
 * place, on purpose: it is never saved (`persistence: 'none'`), a copy per
 * renewal of thousands of viewers would cost more than it guards, and it
 * goes with the activation (passivation, a shard move, a node's death),
 * its viewers coming back with their next renewal.
 */
export interface LiveState {
  readonly live: LivePost;
}

type Ports = Pick<CapabilityPorts, 'db' | 'streams' | 'config' | 'now'>;

/** A fresh activation's live side. */
export function liveState(ports: Pick<CapabilityPorts, 'config'>): LiveState {
  const c = ports.config.live;
  // Lapsed viewers are swept a tenth of a lease apart (at most a second, at least 100 ms).
  const sweepMs = Math.max(100, Math.min(1000, Math.floor(c.postViewLeaseMs / 10)));
  return { live: new LivePost(Math.ceil(1000 / c.countsPerSecond), sweepMs) };
}

function timersOf(ctx: ActorContext<LiveState>): LiveTimers {
  return {
    set: (name, delayMs) =>
      ctx.setTimer(`live.${name}`, delayMs, { type: name === 'flush' ? 'liveFlush' : 'liveLapse' }),
    cancel: (name) => ctx.cancelTimer(`live.${name}`),
  };
}

async function readCounts(ports: Ports, postId: string): Promise<StoredCounts | undefined> {
  const r = await ports.db
    .forId(postId)
    .query<{ like_count: number; comment_count: number }>(
      'SELECT like_count, comment_count FROM posts WHERE id = $1 AND deleted_at IS NULL',
      [postId],
    );
  const row = r.rows[0];
  return row && { likes: row.like_count, comments: row.comment_count };
}

/**
 * The post actor's live handlers (spread into its handlers): a viewer's
 * lease (`liveView`, from the gateway of the viewer's node on every
 * subscribe and renewal) and its end (`liveLeave`); `liveChanged` when its
 * counts moved (a domain event: a like, a comment); and the two timers.
 * Every one is a tell.
 */
export function liveHandlers(ports: Ports) {
  return {
    liveView(ctx: ActorContext<LiveState>, msg: { viewer: string; leaseMs: number }): void {
      ctx.state.live.view(msg.viewer, msg.leaseMs, ports.now(), timersOf(ctx));
    },
    liveLeave(ctx: ActorContext<LiveState>, msg: { viewer: string }): void {
      ctx.state.live.leave(msg.viewer, ports.now(), timersOf(ctx));
    },
    liveChanged(ctx: ActorContext<LiveState>): void {
      ctx.state.live.changed(ports.now(), timersOf(ctx));
    },
    liveLapse(ctx: ActorContext<LiveState>): void {
      ctx.state.live.lapse(ports.now(), timersOf(ctx));
    },
    async liveFlush(ctx: ActorContext<LiveState>): Promise<void> {
      await ctx.state.live.flush(
        ports.now,
        timersOf(ctx),
        () => readCounts(ports, ctx.id),
        (event) => ports.streams.publish(postStream(ctx.id), event),
      );
    },
  };
}
