import { defineCapability, defineOperation, type OperationContext } from '../operation.js';
import { postRef } from '../posts/post-actor.js';
import type { LikeAnswer } from './like-commits.js';
import { likersPage } from './likers.js';
import { likeMigrations } from './likes-table.js';
import { deleteUsersLikes } from './user-deleted.js';
import { visiblePost } from './visible-post.js';

const DEFAULT_PAGE = 20;

/**
 * The `likes` capability: like and unlike a post, and who liked it.
 * Schemas: `protocol/src/methods/likes.ts`. A like is a row of the post's
 * database (`likes-table.ts`); writes go through the post's `post` actor,
 * which group-commits them (`like-commits.ts`) and emits `likes.changed`
 * once per commit. Every call first checks the caller may see the post
 * (`visible-post.ts`). `likedByMe` in hydrated posts is read with
 * `likedAmong` (`likes-rows.ts`).
 */
export const likes = defineCapability({
  name: 'likes',
  description: 'Likes: like and unlike a post (idempotent, exact counts), and who liked it.',
  migrations: likeMigrations,
  onUserDeleted: deleteUsersLikes,
  operations: [
    defineOperation({
      method: 'likes.like',
      summary:
        'Likes a post the caller may see (a no-op if they do already); answers the count after the commit.',
      http: { method: 'PUT', path: '/v1/posts/{id}/like' },
      auth: 'user',
      handler: (ctx, p) => write(ctx, p.id, 'like'),
    }),
    defineOperation({
      method: 'likes.unlike',
      summary:
        "Takes the caller's like of a post back (a no-op without one); answers the count after the commit.",
      http: { method: 'DELETE', path: '/v1/posts/{id}/like' },
      auth: 'user',
      handler: (ctx, p) => write(ctx, p.id, 'unlike'),
    }),
    defineOperation({
      method: 'likes.list',
      summary:
        'Who liked a post: people the caller follows first, then the rest, newest first; cursor-paginated.',
      http: { method: 'GET', path: '/v1/posts/{id}/likes' },
      auth: 'user',
      handler: async (ctx, p) => {
        await visiblePost(ctx.db, ctx.caller.userId, p.id);
        return likersPage(ctx.db, ctx.caller.userId, p.id, p.limit ?? DEFAULT_PAGE, p.cursor);
      },
    }),
  ],
});

async function write(ctx: OperationContext, postId: string, type: 'like' | 'unlike'): Promise<LikeAnswer> {
  const me = ctx.caller.userId;
  await visiblePost(ctx.db, me, postId);
  return postRef(ctx.actors, postId).ask({ type, userId: me }, { deadlineMs: ctx.askTimeoutMs });
}
