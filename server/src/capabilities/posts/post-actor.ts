import { type ActorRef, type ActorSystem, type AnyActorType, defineActor } from '@shutter/actors';
import { ShutterError } from '@shutter/protocol';
import { KeyedLock } from '../graph/keyed-lock.js';
import { type LikePorts, likeHandlers } from '../likes/like-commits.js';
import type { CapabilityPorts } from '../operation.js';
import { liveHandlers, liveState } from './live-actor.js';
import { insertPost, markDeleted, type NewPost, type PostRow } from './post-rows.js';

/**
 * The `post` actor, keyed by the post id: the id carries the author's
 * logical shard, so the actor runs on the author's node, beside the author's
 * rows and `user` actor. It writes its post's row: one create or delete at a
 * time per post. The rows are the truth (`persistence: 'none'`); each write
 * is one transaction in the author's database that moves `users.post_count`
 * with the row, and it answers after the commit.
 *
 * After the commit it emits `post.created` / `post.deleted` (awaited: the
 * feed's handler enqueues the durable fan-out before the client hears
 * back). A retried create of a live post, and a retried delete, emit again:
 * a crash between the commit and the emit is repaired by the client's retry,
 * so handlers see each event at least once and must be idempotent.
 *
 * The type is REENTRANT: likes group-commit (`likes/like-commits.ts`), so
 * a like's turn awaits its transaction while the next likes arrive.
 * `create` and `delete` still run one at a time per post (`serial`), so
 * their events leave in commit order. A handler that awaits must not
 * assume it runs alone: stage state with `setState(updater)`.
 *
 * It also keeps the post's live side (`live-actor.ts`): who views it, and
 * the coalesced counts its viewers get on `post:<id>`.
 */
export function makePostActor(ports: LikePorts & Pick<CapabilityPorts, 'streams' | 'config' | 'now'>) {
  const writes = new KeyedLock();
  const serial =
    <M, R>(fn: (ctx: { readonly id: string }, msg: M) => Promise<R>) =>
    (ctx: { readonly id: string }, msg: M): Promise<R> =>
      writes.run(ctx.id, () => fn(ctx, msg));
  return defineActor({
    name: 'post',
    initialState: () => liveState(ports),
    persistence: 'none',
    reentrant: true,
    handlers: {
      ...likeHandlers(ports),
      ...liveHandlers(ports),
      /**
       * Stores the post unless its id is taken; a retry with the same
       * content answers the stored row (deleted or not), other content is
       * `conflict`.
       */
      create: serial(async (ctx, msg: { post: NewPost }): Promise<PostRow> => {
        const p = msg.post;
        if (p.id !== ctx.id) throw new Error(`post actor ${ctx.id} asked to create ${p.id}`);
        const stored = await insertPost(ports.db.forId(p.id), p);
        if (stored === 'no_author')
          throw new ShutterError('not_found', 'no account has your user id (deleted?); nothing was posted');
        const { row } = stored;
        if (!sameContent(row, p))
          throw new ShutterError(
            'conflict',
            'this post id names a post with other content; make a new id for a new post',
          );
        if (!row.deleted)
          await ports.events.emit({
            type: 'post.created',
            postId: row.id,
            authorId: row.authorId,
            createdAt: row.createdAt,
          });
        return row;
      }),

      /** Marks the post deleted if `by` is its author (idempotent); `not_found` / `forbidden` otherwise. */
      delete: serial(async (ctx, msg: { by: string }): Promise<PostRow> => {
        const done = await markDeleted(ports.db.forId(ctx.id), ctx.id, msg.by);
        if (done === 'missing') throw new ShutterError('not_found', 'no post with that id');
        if (done === 'not_author') throw new ShutterError('forbidden', 'only its author may delete a post');
        await ports.events.emit({ type: 'post.deleted', postId: done.id, authorId: done.authorId });
        return done;
      }),
    },
  });
}

export type PostActorType = ReturnType<typeof makePostActor>;

/** The post actor type registered on each node's actor system (the runtime checks a ref's type by identity). */
const registered = new WeakMap<ActorSystem, PostActorType>();

/** Makes the type for a node and remembers it for `postRef`. */
export function registerPostActor(ports: CapabilityPorts): AnyActorType {
  const type = makePostActor(ports);
  registered.set(ports.actors, type);
  return type as unknown as AnyActorType;
}

/** The post actor of `postId` on this node's actor system. */
export function postRef(actors: ActorSystem, postId: string): ActorRef<PostActorType['handlers']> {
  const type = registered.get(actors);
  if (!type) throw new Error('the post actor is not registered on this node');
  return actors.ref(type, postId);
}

function sameContent(row: PostRow, p: NewPost): boolean {
  return (
    row.authorId === p.authorId &&
    row.caption === p.caption &&
    sameList(row.mediaIds, p.mediaIds) &&
    row.location?.lat === p.location?.lat &&
    row.location?.lon === p.location?.lon &&
    row.location?.name === p.location?.name
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
