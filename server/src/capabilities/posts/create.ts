import type { MethodParams } from '@shutter/protocol';
import { newId, type Post, ShutterError, shardOfId, timeOfId } from '@shutter/protocol';
import { idShard } from '../../storage/databases.js';
import type { OperationContext } from '../operation.js';
import { parseCaption } from './caption.js';
import { hydrateRows } from './hydrate.js';
import { postRef } from './post-actor.js';
import type { NewPost } from './post-rows.js';

/** How far in the future a client-made post id may be (clock skew), in ms. */
export const MAX_ID_AHEAD_MS = 5 * 60_000;

/**
 * `posts.create`: checks the id, the caption and the media, then asks the
 * post's actor to store it (a no-op for a retry) and answers it hydrated.
 * Nothing is written when a check fails.
 */
export async function createPost(ctx: OperationContext, p: MethodParams<'posts.create'>): Promise<Post> {
  const authorId = ctx.caller.userId;
  const id = postId(authorId, p.id, ctx.now());
  const caption = p.caption ?? '';
  const { hashtags, mentions } = parseCaption(caption);
  await checkMedia(ctx, authorId, p.mediaIds);
  const post: NewPost = {
    id,
    authorId,
    caption,
    mediaIds: p.mediaIds,
    hashtags,
    mentions,
    location: p.location
      ? { lat: p.location.lat, lon: p.location.lon, ...(p.location.name ? { name: p.location.name } : {}) }
      : null,
  };
  const row = await postRef(ctx.actors, id).ask({ type: 'create', post }, { deadlineMs: ctx.askTimeoutMs });
  const [hydrated] = await hydrateRows(ctx, authorId, [row], { checkVisibility: false });
  // Only a deleted author has no user row; their writes are refused before this.
  if (!hydrated) throw new ShutterError('not_found', 'the author of this post is gone');
  return hydrated;
}

/** The id to store the post under: the client's (checked), or a fresh one on the author's shard. */
function postId(authorId: string, given: string | undefined, now: number): string {
  const shard = idShard(authorId);
  if (given === undefined) return newId(shard, now);
  const theirs = shardOfId(given);
  if (theirs !== shard)
    throw new ShutterError(
      'bad_request',
      `id carries logical shard ${theirs}, but a post id carries its author's shard (${shard}): make it with newId(shardOfId(yourUserId))`,
    );
  const ahead = (timeOfId(given) ?? 0) - now;
  if (ahead > MAX_ID_AHEAD_MS)
    throw new ShutterError(
      'bad_request',
      `id was made ${Math.round(ahead / 1000)} s in the future (at most ${MAX_ID_AHEAD_MS / 1000} s of clock skew)`,
    );
  return given;
}

/** Every id names a distinct ready item of the author's: `media_not_owned` before `media_not_ready`. */
async function checkMedia(ctx: OperationContext, authorId: string, ids: readonly string[]): Promise<void> {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new ShutterError('bad_request', `mediaIds names ${id} twice`);
    seen.add(id);
  }
  const items = new Map((await ctx.media.many(ids)).map((m) => [m.id, m]));
  for (const id of ids) {
    const m = items.get(id);
    if (!m || m.ownerId !== authorId)
      throw new ShutterError('media_not_owned', `media ${id} does not exist or is not yours`, {
        details: { mediaId: id },
      });
  }
  for (const id of ids) {
    const m = items.get(id);
    if (m && m.status !== 'ready')
      throw new ShutterError(
        'media_not_ready',
        m.status === 'failed'
          ? `media ${id} failed processing (${m.failureCode}); upload it again`
          : `media ${id} is still processing; wait for media.ready`,
        { details: { mediaId: id, status: m.status } },
      );
  }
}
