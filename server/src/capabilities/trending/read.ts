import type { MethodParams, MethodResult } from '@shutter/protocol';
import type { CapabilityPorts } from '../operation.js';
import { hydratePosts } from '../posts/hydrate.js';
import { decodeTrendingCursor, encodeTrendingCursor, type TrendingCursor } from './cursor.js';
import { decayedValue } from './decay.js';
import type { TrendingParts } from './parts.js';
import type { Ranked } from './trending-store.js';

const DEFAULT_PAGE = 20;
/** Hashtags on a first page. */
export const TAGS_SHOWN = 10;

type Page = MethodResult<'trending.get'>;

/**
 * One page of trending for `viewer`: the trending set's posts from the
 * node's cached top (or the store past it), or, when the cache failed, was
 * late or holds nothing yet, the popular list — then `source: 'popular'`.
 * A cursor continues in its own source while that works. Hydrated as feed
 * pages are (a fixed number of queries: `hydratePosts`); posts the viewer
 * may not see are left out, so a page may be short.
 */
export async function readTrending(
  ports: CapabilityPorts,
  parts: TrendingParts,
  viewer: string,
  params: MethodParams<'trending.get'>,
): Promise<Page> {
  const limit = params.limit ?? DEFAULT_PAGE;
  const cursor = params.cursor === undefined ? undefined : decodeTrendingCursor(params.cursor);
  const page =
    (cursor?.s !== 'popular' && (await trendingPage(ports, parts, cursor, limit))) ||
    (await popularPage(parts, cursor, limit));
  return {
    posts: await hydratePosts(ports, viewer, page.ids),
    hashtags: cursor === undefined ? page.tags : [],
    source: page.source,
    nextCursor: page.next ? encodeTrendingCursor(page.next) : null,
  };
}

interface RankedPage {
  ids: string[];
  tags: Page['hashtags'];
  source: Page['source'];
  next: TrendingCursor | undefined;
}

/** From the trending sets; undefined to fall back (failed, late, or an empty set on a first page). */
async function trendingPage(
  ports: CapabilityPorts,
  parts: TrendingParts,
  cursor: Extract<TrendingCursor, { s: 'trending' }> | undefined,
  limit: number,
): Promise<RankedPage | undefined> {
  let ranked: Ranked[] | undefined;
  let tags: Ranked[] = [];
  if (cursor) ranked = await parts.reader.after({ score: cursor.score, member: cursor.id }, limit);
  else {
    const top = await parts.reader.top();
    if (!top || top.posts.length === 0) return undefined;
    ranked = top.posts.slice(0, limit);
    tags = top.tags.slice(0, TAGS_SHOWN);
  }
  if (!ranked) return undefined;
  const now = ports.now();
  const halfLifeMs = ports.config.trending.halfLifeSeconds * 1000;
  const last = ranked.at(-1);
  return {
    ids: ranked.map((r) => r.member),
    tags: tags.map((t) => ({ tag: t.member, score: decayedValue(t.score, now, halfLifeMs) })),
    source: 'trending',
    next: ranked.length === limit && last ? { s: 'trending', score: last.score, id: last.member } : undefined,
  };
}

/** From the node's popular list (the fallback): by offset. */
async function popularPage(
  parts: TrendingParts,
  cursor: TrendingCursor | undefined,
  limit: number,
): Promise<RankedPage> {
  const list = await parts.popular.get();
  const from = cursor?.s === 'popular' ? cursor.offset : 0;
  const slice = list.posts.slice(from, from + limit);
  return {
    ids: slice.map((r) => r.member),
    tags: list.tags.slice(0, TAGS_SHOWN).map((t) => ({ tag: t.member, score: t.score })),
    source: 'popular',
    next: from + limit < list.posts.length ? { s: 'popular', offset: from + limit } : undefined,
  };
}
