import type { MethodParams, MethodResult } from '@shutter/protocol';
import type { CapabilityPorts } from '../operation.js';
import { hydratePosts } from '../posts/hydrate.js';
import { decodeExploreCursor, encodeExploreCursor } from './cursor.js';
import { type ExplorePosition, START, walk } from './mix.js';
import type { ExploreParts } from './parts.js';

const DEFAULT_PAGE = 20;
/**
 * Ids walked beyond the items wanted: room for the few hydration leaves out
 * (mine, liked since the picks were made, hidden); a page short of them
 * still has its cursor.
 */
const extra = (limit: number) => Math.max(2, Math.ceil(limit / 4));

type Page = MethodResult<'explore.get'>;

/**
 * One page of explore for `viewer`. At once, each within the cache guard's
 * budget: the viewer's picks and recently shown posts (one cache round
 * trip), the node's cached trending top, and the node's popular list. Picks
 * missing or older than EXPLORE_REFRESH_SECONDS are asked for in the
 * background (this page is made without them: popular takes their slots).
 * The lists are walked (`mix.ts`) past what was shown, the walked ids
 * hydrated at once as feed pages are (a fixed number of queries), and my
 * own posts, posts I like and posts I may not see (hydration's privacy and
 * block rule) left out. What the page shows is remembered as shown (a
 * write nobody waits for).
 */
export async function readExplore(
  ports: CapabilityPorts,
  parts: ExploreParts,
  viewer: string,
  params: MethodParams<'explore.get'>,
): Promise<Page> {
  const limit = params.limit ?? DEFAULT_PAGE;
  const from = params.cursor === undefined ? START : decodeExploreCursor(params.cursor);
  const { guard, reader, popular } = parts.trending;
  const now = ports.now();
  const [mine, top, pop] = await Promise.all([
    guard.run('explore read', () => ports.explore.read(viewer, now)),
    reader.top(),
    popular.get(),
  ]);
  const picks = mine?.picks;
  if (mine && (!picks || now - picks.computedAt >= ports.config.explore.refreshSeconds * 1000))
    parts.jobs.request(viewer);
  const walked = walk(
    {
      personal: picks?.ids,
      trending: top && top.posts.length > 0 ? top.posts.map((r) => r.member) : undefined,
      popular: pop.posts.map((r) => r.member),
    },
    from,
    {
      want: limit + extra(limit),
      every: ports.config.explore.trendingEvery,
      skip: (id) => mine?.shown.has(id) ?? false,
    },
  );
  const posts = new Map(
    (
      await hydratePosts(
        ports,
        viewer,
        walked.items.map((w) => w.id),
      )
    ).map((p) => [p.id, p]),
  );
  const items: Page['items'] = [];
  let end: ExplorePosition | undefined;
  let rest = 0;
  for (const [i, w] of walked.items.entries()) {
    const post = posts.get(w.id);
    if (!post || post.author.id === viewer || post.likedByMe) continue;
    items.push({ post, source: w.source });
    if (items.length === limit) {
      end = w.after;
      rest = walked.items.length - i - 1;
      break;
    }
  }
  end ??= walked.items.at(-1)?.after ?? from;
  const more = rest > 0 || !walked.exhausted;
  if (items.length > 0)
    guard.fire('explore shown', () =>
      ports.explore.markShown(
        viewer,
        items.map((x) => x.post.id),
        now,
      ),
    );
  return { items, nextCursor: more ? encodeExploreCursor(end) : null };
}
