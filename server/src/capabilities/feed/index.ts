import { isId } from '@shutter/protocol';
import { Users } from '../accounts/users.js';
import { GraphReads } from '../graph/edges.js';
import { type CapabilityPorts, defineCapability, defineOperation } from '../operation.js';
import { type FanoutJob, fanoutJobId, runFanout } from './fanout.js';
import { PulledPosts, pulledMigrations } from './pulled.js';
import { type FeedParts, readFeed } from './read.js';

/**
 * The `feed` capability: each reader's home feed, hybrid (DESIGN "Feed";
 * docs/architecture.md "Feed"). Posts of authors under
 * FEED_FANOUT_THRESHOLD followers are written into their followers' stored
 * feeds by a durable fan-out job after the post is acknowledged; posts of
 * bigger authors are pulled and merged at read. A missing stored feed is
 * rebuilt from Postgres at its next read. Follows, unfollows and blocks
 * drop the feeds they change (rebuilt at the next read, exact by
 * construction). Live: `user:<id>:feed` per follower, `author:<id>:posts`
 * for big authors. Schemas: `protocol/src/methods/feed.ts`.
 */

/** The feed's parts of one node (its store and caches), keyed by the node's store. */
const nodes = new WeakMap<object, FeedParts>();

function partsOf(ports: CapabilityPorts): FeedParts {
  let p = nodes.get(ports.feeds);
  if (!p) {
    p = { store: ports.feeds, pulled: new PulledPosts(ports.db, ports.config.feed.authorCacheMs, ports.now) };
    nodes.set(ports.feeds, p);
  }
  return p;
}

/** `author:<id>:posts`: whoever may see that author's posts (themselves; followers of a private one; never across a block). */
async function mayReadAuthor(ports: CapabilityPorts, userId: string, stream: string): Promise<boolean> {
  const [, id, sub, ...rest] = stream.split(':');
  if (sub !== 'posts' || rest.length > 0 || !id || !isId(id)) return false;
  const author = await new Users(ports.db).get(id);
  return author !== undefined && new GraphReads(ports.db).canSee(userId, author);
}

export const feed = defineCapability({
  name: 'feed',
  description: "The reader's home feed: followed authors' posts, newest first, hybrid fan-out, live.",
  migrations: pulledMigrations,
  operations: [
    defineOperation({
      method: 'feed.get',
      summary: "A page of the caller's feed, newest first, hydrated; the cursor asks the next page.",
      http: { method: 'GET', path: '/v1/feed' },
      auth: 'user',
      handler: (ctx, params) => readFeed(ctx, partsOf(ctx), ctx.caller.userId, params),
    }),
  ],
  streams: { author: mayReadAuthor },
  async start(ports) {
    const parts = partsOf(ports);
    const queue = await ports.openQueue<FanoutJob>('feed-fanout', {
      maxAttempts: 10,
      backoffBaseMs: 500,
      backoffMaxMs: 30_000,
    });
    const enqueue = (j: FanoutJob) => queue.enqueue(fanoutJobId(j), j);
    ports.events.on('post.created', (e) => enqueue({ op: 'add', postId: e.postId, authorId: e.authorId }));
    ports.events.on('post.deleted', (e) => enqueue({ op: 'remove', postId: e.postId, authorId: e.authorId }));
    // A follow changes the follower's feed, a block both: dropped, each is rebuilt exact at its next read.
    ports.events.on('follow.changed', async (e) => {
      if (e.state !== 'pending') await parts.store.drop([e.follower]);
    });
    ports.events.on('block.changed', async (e) => {
      if (e.on) await parts.store.drop([e.blocker, e.blocked]);
    });
    const consumer = queue.consume((job) => runFanout(ports, parts, job), {
      concurrency: 4,
      onDead: async (job, err) =>
        ports.log.error(
          { err, job: job.id },
          'feed fan-out job failed for good: built feeds lack this post change until rebuilt (a follow change, expiry, eviction)',
        ),
    });
    return {
      async stop() {
        await consumer.stop();
        await queue.close();
      },
    };
  },
  /**
   * Drops the account's feed and forgets its pulled posts. Its followers'
   * feeds are dropped by the `follow.changed` (`none`) graph emits for each
   * edge it removes, and rebuilt without the account's posts at their next
   * read; posts' `post.deleted` jobs then find no follower left to walk.
   */
  async onUserDeleted(ports, userId) {
    const { store, pulled } = partsOf(ports);
    await store.drop([userId]);
    await pulled.forget(userId);
  },
});
