import {
  type Comment,
  type CommentThread,
  type MethodParams,
  type MethodResult,
  REPLY_PREVIEW,
  ShutterError,
} from '@shutter/protocol';
import type { OperationContext } from '../operation.js';
import { decodeCursor, encodeCursor } from '../posts/cursor.js';
import { seenPost } from './access.js';
import { type CommentRow, selectComment, selectReplies, selectThreads } from './comment-rows.js';
import { hydrateComments } from './hydrate.js';

const DEFAULT_PAGE = 20;

/**
 * `comments.list`: a page of a post's top-level comments, newest first, each
 * with its reply count, its oldest {@link REPLY_PREVIEW} replies and a
 * cursor for the rest. A fixed number of queries whatever the page size:
 * the post's visibility (3), the page with its previews (1, `selectThreads`),
 * the hydration of all of them (`hydrateComments`: 2–4).
 */
export async function listComments(
  ctx: OperationContext,
  p: MethodParams<'comments.list'>,
): Promise<MethodResult<'comments.list'>> {
  const me = ctx.caller.userId;
  const before = p.cursor === undefined ? undefined : decodeCursor(p.cursor);
  await seenPost(ctx, me, p.id);
  const limit = p.limit ?? DEFAULT_PAGE;
  const { top, replies } = await selectThreads(ctx.db.forId(p.id), p.id, {
    before,
    limit: limit + 1,
    preview: REPLY_PREVIEW,
  });
  const page = top.slice(0, limit);
  const onPage = new Set(page.map((c) => c.id));
  const previews = replies.filter((r) => r.parentId !== null && onPage.has(r.parentId));
  const shown = new Map(
    (await hydrateComments(ctx, me, [...page, ...previews], { hideBlocked: true })).map((c) => [c.id, c]),
  );
  const items = page.flatMap((c): CommentThread[] => {
    const comment = shown.get(c.id);
    if (!comment) return [];
    const mine = previews.filter((r) => r.parentId === c.id);
    const last = mine[mine.length - 1];
    const more = last !== undefined && mine.length === REPLY_PREVIEW && c.replyCount > REPLY_PREVIEW;
    return [
      {
        ...comment,
        replies: mine.map((r) => shown.get(r.id)).filter((r): r is Comment => r !== undefined),
        repliesCursor: more ? encodeCursor(last.id) : null,
      },
    ];
  });
  return { items, nextCursor: nextCursor(top, limit) };
}

/** `comments.replies`: a top-level comment's replies, oldest first, paginated. */
export async function listReplies(
  ctx: OperationContext,
  p: MethodParams<'comments.replies'>,
): Promise<MethodResult<'comments.replies'>> {
  const me = ctx.caller.userId;
  const after = p.cursor === undefined ? undefined : decodeCursor(p.cursor);
  const sql = ctx.db.forId(p.id);
  const parent = await selectComment(sql, p.id);
  if (!parent || parent.deleted) throw new ShutterError('not_found', 'no comment with that id');
  await seenPost(ctx, me, parent.postId);
  if (parent.parentId !== null)
    throw new ShutterError(
      'bad_request',
      `this comment is a reply (replies are one level deep): list the replies of ${parent.parentId}`,
    );
  const limit = p.limit ?? DEFAULT_PAGE;
  const rows = await selectReplies(sql, p.id, { after, limit: limit + 1 });
  const page = rows.slice(0, limit);
  return {
    items: await hydrateComments(ctx, me, page, { hideBlocked: true }),
    nextCursor: nextCursor(rows, limit),
  };
}

/** The cursor after a page read with `limit + 1` rows: the page's last row, when there was one more. */
function nextCursor(rows: readonly CommentRow[], limit: number): string | null {
  const last = rows[limit - 1];
  return rows.length > limit && last ? encodeCursor(last.id) : null;
}
