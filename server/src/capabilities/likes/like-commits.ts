import { GroupCommit, hash32 } from '@shutter/actors';
import { isId, type MethodResult, ShutterError } from '@shutter/protocol';
import type { Sql } from '../../sql/sql.js';
import type { CapabilityPorts } from '../operation.js';
import { commitLikeBatch, type LikeBatchOutcome, type LikeChange } from './like-batch.js';

/** What a like or unlike answers: the caller's state and the count after the commit. */
export type LikeAnswer = MethodResult<'likes.like'>;

/** Most requests in one transaction (the rest go in the next). */
export const MAX_LIKE_BATCH = 1000;
/**
 * Transactions in flight at once per Postgres database and node, each for
 * its own posts (a post always goes to the same lane). PGlite, one
 * connection, gets one.
 */
export const LIKE_LANES = 4;

/** What the like commits use: the databases, the domain events, and a log for a failed event handler. */
export type LikePorts = Pick<CapabilityPorts, 'db' | 'events'> & {
  log: Pick<CapabilityPorts['log'], 'error'>;
};

type Commit = (sql: Sql, changes: readonly LikeChange[]) => Promise<Map<string, LikeBatchOutcome>>;

/**
 * Group commit of likes. Each post's requests go to one lane of its
 * database (`LIKE_LANES` on Postgres, one on PGlite), a `GroupCommit` with
 * one transaction in flight: the likes and unlikes that arrive meanwhile
 * queue, and the next transaction takes all of them (up to
 * {@link MAX_LIKE_BATCH}), of one hot post or of many posts at once. So
 * one post's writes are applied one transaction after the other, in
 * arrival order, and a like waits for at most one commit before its own.
 *
 * Within a batch each user's last request for a post wins, and every
 * request of that user answers the resulting state with the count after
 * the commit: answers agree with each other and with what a read shows
 * next. Each request is answered only once its transaction committed and
 * the `likes.changed` of its post (one per post per commit that changed
 * something) was emitted. A missing or deleted post fails its own requests
 * with `not_found`, having changed nothing; the other posts of the batch
 * are committed.
 *
 * One instance per node, shared by the node's `post` actors: a post's
 * requests all reach the one activation that owns it, so one writer per
 * post in the cluster.
 */
export class LikeCommits {
  private readonly lanes = new Map<Sql, GroupCommit<LikeChange, LikeAnswer | ShutterError>[]>();

  /** `commit` applies one batch (`commitLikeBatch`; unit tests give their own). */
  constructor(
    private readonly ports: LikePorts,
    private readonly commit: Commit = commitLikeBatch,
  ) {}

  /** Queues the request for its lane's next transaction; resolves after that commit. */
  async submit(postId: string, req: { userId: string; liked: boolean }): Promise<LikeAnswer> {
    // Refused alone: in a batch, a value the statement cannot cast would fail everyone's likes.
    if (!isId(postId) || !isId(req.userId))
      throw new ShutterError('bad_request', 'a like needs a post id and a user id');
    const answer = await this.lane(postId).submit({ postId, userId: req.userId, liked: req.liked });
    if (answer instanceof ShutterError) throw answer;
    return answer;
  }

  private lane(postId: string): GroupCommit<LikeChange, LikeAnswer | ShutterError> {
    const sql = this.ports.db.forId(postId);
    let lanes = this.lanes.get(sql);
    if (!lanes) {
      const n = sql.kind === 'pglite' ? 1 : LIKE_LANES;
      lanes = Array.from(
        { length: n },
        () => new GroupCommit((batch: LikeChange[]) => this.apply(sql, batch), { maxBatch: MAX_LIKE_BATCH }),
      );
      this.lanes.set(sql, lanes);
    }
    return lanes[hash32(postId) % lanes.length] as GroupCommit<LikeChange, LikeAnswer | ShutterError>;
  }

  private async apply(sql: Sql, batch: LikeChange[]): Promise<(LikeAnswer | ShutterError)[]> {
    const last = new Map<string, LikeChange>();
    for (const c of batch) last.set(`${c.postId} ${c.userId}`, c);
    const outcomes = await this.commit(sql, [...last.values()]);
    for (const [postId, out] of outcomes) {
      if (out.liked.length === 0 && out.unliked.length === 0) continue;
      // Committed: a failed handler must not make the client believe otherwise (its retry would
      // find nothing to change, so no event either way); it is logged.
      await this.ports.events
        .emit({ type: 'likes.changed', postId, ...out })
        .catch((err: unknown) =>
          this.ports.log.error({ err, postId }, 'a likes.changed handler failed; the likes are committed'),
        );
    }
    return batch.map((c) => {
      const out = outcomes.get(c.postId);
      if (!out) return new ShutterError('not_found', 'no post with that id');
      const liked = last.get(`${c.postId} ${c.userId}`)?.liked === true;
      return { postId: c.postId, liked, likeCount: out.likeCount };
    });
  }
}

/**
 * The post actor's like handlers (spread into its handlers: `post-actor.ts`),
 * over the node's {@link LikeCommits}. They need the actor type to be
 * reentrant: each awaits its group commit, and the next requests must reach
 * the queue meanwhile.
 */
export function likeHandlers(ports: LikePorts) {
  const commits = new LikeCommits(ports);
  return {
    /** `userId` likes the post: answers after the commit (a no-op if it did already). */
    like: (ctx: { readonly id: string }, msg: { userId: string }): Promise<LikeAnswer> =>
      commits.submit(ctx.id, { userId: msg.userId, liked: true }),
    /** `userId` no longer likes the post: answers after the commit (a no-op if it did not). */
    unlike: (ctx: { readonly id: string }, msg: { userId: string }): Promise<LikeAnswer> =>
      commits.submit(ctx.id, { userId: msg.userId, liked: false }),
  };
}
