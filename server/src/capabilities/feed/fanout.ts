import { authorPostsStream, type FeedEvent, feedStream } from '@shutter/protocol';
import type { Job } from '../../jobs/index.js';
import { Users } from '../accounts/users.js';
import { GraphReads } from '../graph/edges.js';
import type { CapabilityPorts } from '../operation.js';
import { hydratePosts } from '../posts/hydrate.js';
import type { FeedParts } from './read.js';

/** A fan-out job: a post to write into (`add`) or take out of (`remove`) its author's followers' feeds. */
export interface FanoutJob {
  op: 'add' | 'remove';
  postId: string;
  authorId: string;
}

/** The job id of a post's fan-out: enqueueing it twice runs it once. */
export function fanoutJobId(j: FanoutJob): string {
  return `${j.op}-${j.postId}`;
}

/**
 * Runs one fan-out job, after the post is durable and outside any request.
 *
 * `add`: an author under FEED_FANOUT_THRESHOLD followers has the post id
 * written into their own feed and every active follower's, FEED_FANOUT_BATCH
 * followers at a time (one graph page, one pipelined store write — only into
 * feeds that exist —, then the live event on each one's `user:<id>:feed`).
 * An author at or above it: the post is recorded as pulled (reads merge it)
 * and goes live once, on `author:<id>:posts`.
 *
 * `remove`: the id leaves the author's and every follower's feed, whatever
 * the author's size now (the post may have been fanned out before they
 * grew), and the live deletion goes where the post went live.
 *
 * Idempotent, so a retry after a failure half-way is harmless: adding or
 * removing an id twice changes nothing; live events may repeat (clients key
 * items by post id).
 */
export async function runFanout(
  ports: CapabilityPorts,
  parts: FeedParts,
  job: Job<FanoutJob>,
): Promise<void> {
  const { op, postId, authorId } = job.payload;
  const author = await new Users(ports.db).get(authorId);
  const big = author !== undefined && author.followerCount >= ports.config.feed.fanoutThreshold;
  let event: FeedEvent;
  if (op === 'add') {
    if (!author) return; // the account is gone, and its posts with it
    const [post] = await hydratePosts(ports, authorId, [postId]);
    if (!post) return; // deleted before its fan-out ran
    event = { type: 'post', post };
    if (big) {
      await parts.pulled.record(authorId, postId);
      await ports.streams.publish(authorPostsStream(authorId), event);
      return;
    }
  } else {
    event = { type: 'post.deleted', postId, authorId };
    await parts.pulled.forget(authorId, [postId]);
    if (big) await ports.streams.publish(authorPostsStream(authorId), event);
  }
  const write = (readers: string[]) => {
    const entries = readers.map((reader) => ({ reader, ids: [postId] }));
    return op === 'add' ? parts.store.add(entries) : parts.store.remove(entries);
  };
  const live = big ? () => Promise.resolve() : (readers: string[]) => publishAll(ports, readers, event);
  await write([authorId]);
  await live([authorId]);
  const graph = new GraphReads(ports.db);
  const batch = ports.config.feed.fanoutBatch;
  let before: string | undefined;
  let done = 0;
  for (;;) {
    const page = await graph.page(authorId, 'in', { limit: batch, ...(before ? { before } : {}) });
    if (page.length === 0) break;
    const readers = page.map((e) => e.userId);
    await write(readers);
    await live(readers);
    done += readers.length;
    before = page.at(-1)?.edgeId;
    // Renews the job's lease: a walk of many followers is not taken for a crashed worker.
    await job.progress(`${done} followers`, author ? Math.min(99, (100 * done) / author.followerCount) : 0);
    if (page.length < batch) break;
  }
}

/** One event to many readers' streams: one batch (one history round trip per 500, the event encoded once). */
async function publishAll(ports: CapabilityPorts, readers: string[], event: FeedEvent): Promise<void> {
  await ports.streams.publishBatch(readers.map((r) => ({ stream: feedStream(r), data: event })));
}
