import type { MethodParams, MethodResult } from '@shutter/protocol';
import type { SqlQueryable } from '../../sql/sql.js';
import type { OperationContext } from '../operation.js';
import { type PostRow, type RawPost, toPostRow } from '../posts/post-rows.js';
import {
  type IdKey,
  idCursor,
  MOST_LIKED,
  mostLikedFirst,
  NEWEST,
  newestFirst,
  type TopKey,
  topCursor,
} from './cursor.js';
import { gatherPosts, type Keyed } from './gather.js';
import { tagOf } from './terms.js';
import { postsIn, seenBy } from './visible-sql.js';

const DEFAULT_PAGE = 20;

/** Live posts with the tag whose author the viewer may see ($1 tag, $2 viewer), in the tag index's order. */
const TAGGED = `FROM post_tags t
  JOIN posts p ON p.id = t.post_id AND p.deleted_at IS NULL
  ${seenBy('p.author_id', '$2::uuid')}
 WHERE t.tag = $1`;

/**
 * `search.tagPosts`: a hashtag's page, newest first or most liked first.
 * Each database walks its `post_tags` index in the page's order from the
 * cursor and stops at `limit + 1` visible posts, so a page costs about the
 * same for a tag on ten posts as for one on a million (plus the posts it
 * skips as invisible to the caller).
 */
export async function tagPosts(
  ctx: OperationContext,
  p: MethodParams<'search.tagPosts'>,
): Promise<MethodResult<'search.tagPosts'>> {
  const tag = tagOf(p.tag);
  const limit = p.limit ?? DEFAULT_PAGE;
  const viewer = ctx.caller.userId;
  if (p.sort === 'top') {
    const after = p.cursor === undefined ? MOST_LIKED : topCursor.decode(p.cursor);
    const page = await gatherPosts<TopKey>(ctx, {
      limit,
      order: mostLikedFirst,
      cursor: topCursor.encode,
      query: (sql) => tagTopRows(sql, tag, viewer, after, limit + 1),
    });
    return { tag, ...page };
  }
  const after = p.cursor === undefined ? NEWEST : idCursor.decode(p.cursor);
  const page = await gatherPosts<IdKey>(ctx, {
    limit,
    order: newestFirst,
    cursor: idCursor.encode,
    query: (sql) => tagRecentRows(sql, tag, viewer, after, limit + 1),
  });
  return { tag, ...page };
}

/** One database's live posts with the tag the viewer may see, newest first after `after`: `n` at most. */
export async function tagRecentRows(
  sql: SqlQueryable,
  tag: string,
  viewer: string,
  after: IdKey,
  n: number,
): Promise<Keyed<PostRow, IdKey>[]> {
  const r = await sql.query<RawPost>(
    postsIn(`SELECT t.post_id AS id ${TAGGED} AND t.post_id < $3::uuid ORDER BY t.post_id DESC LIMIT $4`),
    [tag, viewer, after.id, n],
  );
  return r.rows.map((raw) => {
    const row = toPostRow(raw);
    return { value: row, key: { id: row.id } };
  });
}

/** One database's live posts with the tag the viewer may see, most liked first after `after`: `n` at most. */
export async function tagTopRows(
  sql: SqlQueryable,
  tag: string,
  viewer: string,
  after: TopKey,
  n: number,
): Promise<Keyed<PostRow, TopKey>[]> {
  const r = await sql.query<RawPost & { tag_likes: number }>(
    postsIn(
      `SELECT t.post_id AS id, t.like_count AS tag_likes ${TAGGED}
          AND (t.like_count, t.post_id) < ($3::integer, $4::uuid)
        ORDER BY t.like_count DESC, t.post_id DESC LIMIT $5`,
      ', hits.tag_likes',
    ),
    [tag, viewer, after.likes, after.id, n],
  );
  return r.rows.map((raw) => {
    const row = toPostRow(raw);
    return { value: row, key: { likes: raw.tag_likes, id: row.id } };
  });
}
