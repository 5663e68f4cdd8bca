import { isId } from '@shutter/protocol';
import type { CapabilityPorts, LeasedStreamRule } from '../operation.js';
import { postRef } from './post-actor.js';
import { visiblePostAuthor } from './visible-post.js';

/** The post id of a `post:<id>` stream, if the name is one. */
function postIdOf(stream: string): string | undefined {
  const [kind, id, ...rest] = stream.split(':');
  return kind === 'post' && rest.length === 0 && id !== undefined && isId(id) ? id : undefined;
}

/**
 * Whether `userId` may watch the post: it exists, is not deleted, and its
 * author's posts are visible to them (`visiblePostAuthor`: one query in the
 * post's database). Asked at the subscribe and at every lease renewal.
 */
async function mayWatch(ports: CapabilityPorts, userId: string, stream: string): Promise<boolean> {
  const id = postIdOf(stream);
  return id !== undefined && (await visiblePostAuthor(ports.db, userId, id)) !== undefined;
}

/**
 * `post:<id>`: a view of a post, under a lease (POST_VIEW_LEASE_MS). Each
 * grant and renewal tells the post's actor that the viewer holds it for
 * another lease, and the end of the subscription that it left; the actor
 * counts them and sends the coalesced counts (`live-actor.ts`).
 */
export const postStreamRule: LeasedStreamRule = {
  authorize: mayWatch,
  leaseMs: (config) => config.live.postViewLeaseMs,
  onView: (ports, v) =>
    postRef(ports.actors, postIdOf(v.stream)!).tell({
      type: 'liveView',
      viewer: v.viewer,
      leaseMs: v.leaseMs,
    }),
  onLeave: (ports, v) =>
    postRef(ports.actors, postIdOf(v.stream)!).tell({ type: 'liveLeave', viewer: v.viewer }),
};

/**
 * Tells a post's actor when its counts moved, on this node's domain events
 * (a batch of likes committed, a comment added or deleted): a tell, so the
 * emitter never waits on it; the actor coalesces and reads the row.
 */
export function watchCountChanges(ports: CapabilityPorts): void {
  const changed = (postId: string) => postRef(ports.actors, postId).tell({ type: 'liveChanged' });
  ports.events.on('likes.changed', (e) => changed(e.postId));
  ports.events.on('comment.created', (e) => changed(e.postId));
  ports.events.on('comment.deleted', (e) => changed(e.postId));
}
