import type { MethodResult } from '@shutter/protocol';
import { onceEvery } from '../../log.js';
import { GraphReads } from '../graph/edges.js';
import type { CapabilityPorts } from '../operation.js';
import { hydratePosts } from '../posts/hydrate.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import type { FeedStore } from './feed-store.js';
import type { PulledPosts } from './pulled.js';

/** What a read uses besides the node's ports. */
export interface FeedParts {
  store: FeedStore;
  pulled: PulledPosts;
}

/**
 * One page of `viewer`'s feed: the stored feed (fanned-out posts) merged by
 * id with the pulled posts of the authors the viewer follows (and their own),
 * the page's ids hydrated at once. A FIXED number of reads per page, however
 * many items: the viewer's followings (1 query), the stored page (1 store
 * call), the pulled ids (cached per author; else 1 query per database),
 * hydration (posts' fixed count), and on the first page the big authors
 * among the followings (1 query per database). A missing stored feed is
 * rebuilt first (1 query per database).
 *
 * `nextCursor` is the last id this page considered, so a page whose items
 * were filtered by hydration (deleted, hidden) may be short but paging
 * stays exact; it is null when the sources ran out before `limit`.
 */
export async function readFeed(
  ports: CapabilityPorts,
  parts: FeedParts,
  viewer: string,
  params: { limit?: number; cursor?: string },
): Promise<MethodResult<'feed.get'>> {
  const limit = params.limit ?? 20;
  const before = params.cursor === undefined ? undefined : decodeCursor(params.cursor);
  const authors = [viewer, ...(await new GraphReads(ports.db).followingIds(viewer))];
  const [stored, pulled, liveAuthors] = await Promise.all([
    storedPage(ports, parts.store, viewer, authors, before, limit),
    parts.pulled.page(authors, before, limit),
    before === undefined ? bigAuthors(ports, authors) : [],
  ]);
  const ids = [...new Set([...stored, ...pulled])].sort().reverse().slice(0, limit);
  // Only authors the viewer follows now (or themselves): a fan-out that raced an unfollow may
  // have left an id behind in the stored feed; it is never shown.
  const following = new Set(authors);
  const items = (await hydratePosts(ports, viewer, ids)).filter((p) => following.has(p.author.id));
  const last = ids.at(-1);
  return { items, nextCursor: ids.length === limit && last ? encodeCursor(last) : null, liveAuthors };
}

/** The stored feed's page, rebuilding the feed from Postgres when it is missing. */
async function storedPage(
  ports: CapabilityPorts,
  store: FeedStore,
  viewer: string,
  authors: readonly string[],
  before: string | undefined,
  limit: number,
): Promise<string[]> {
  const snapshotPage = (snapshot: readonly string[]) =>
    snapshot.filter((id) => before === undefined || id < before).slice(0, limit);
  let page: string[] | undefined;
  try {
    page = await store.page(viewer, { before, limit });
  } catch (err) {
    // The store (Redis) failed or did not answer in REDIS_COMMAND_TIMEOUT_MS: the page comes from
    // Postgres, as a rebuild would take it, and nothing is stored.
    if (storeDownMayLog())
      ports.log.warn({ err }, 'the feed store failed: feed pages come from the database meanwhile');
    return snapshotPage(await fannedOutPosts(ports, authors, ports.config.feed.maxItems));
  }
  if (page) return page;
  const token = await store.beginBuild(viewer);
  const snapshot = await fannedOutPosts(ports, authors, ports.config.feed.maxItems);
  if (await store.finishBuild(viewer, token, snapshot)) {
    const built = await store.page(viewer, { before, limit });
    if (built) return built;
  }
  // Dropped while building (a follow changed it) or lost at once: this read answers from the snapshot.
  return snapshotPage(snapshot);
}

/** A failed feed store is logged at most once per 10 s: while Redis is down every read would. */
const storeDownMayLog = onceEvery(10_000);

/**
 * What fan-out on write put in a feed of `authors`: their newest live
 * posts that are not pulled, one query per database, newest `max` overall.
 */
export async function fannedOutPosts(
  ports: Pick<CapabilityPorts, 'db'>,
  authors: readonly string[],
  max: number,
): Promise<string[]> {
  const ids = await ports.db.each(authors, async (sql, part) => {
    const r = await sql.query<{ id: string }>(
      `SELECT p.id::text AS id FROM posts p
        WHERE p.author_id = ANY($1::uuid[]) AND p.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM feed_pulled f WHERE f.author_id = p.author_id AND f.post_id = p.id)
        ORDER BY p.id DESC LIMIT $2`,
      [part, max],
    );
    return r.rows.map((x) => x.id);
  });
  return ids.sort().reverse().slice(0, max);
}

/** Which of `authors` have at least FEED_FANOUT_THRESHOLD followers now: one query per database. */
export async function bigAuthors(
  ports: Pick<CapabilityPorts, 'db' | 'config'>,
  authors: readonly string[],
): Promise<string[]> {
  const threshold = ports.config.feed.fanoutThreshold;
  return ports.db.each(authors, async (sql, part) => {
    const r = await sql.query<{ id: string }>(
      `SELECT id::text AS id FROM users
        WHERE id = ANY($1::uuid[]) AND follower_count >= $2 AND deleted_at IS NULL`,
      [part, threshold],
    );
    return r.rows.map((x) => x.id);
  });
}
