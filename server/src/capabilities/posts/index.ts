import { ShutterError } from '@shutter/protocol';
import { Users } from '../accounts/users.js';
import { GraphReads } from '../graph/edges.js';
import { defineCapability, defineOperation } from '../operation.js';
import { createPost } from './create.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { hydratePosts, hydrateRows } from './hydrate.js';
import { postStreamRule, watchCountChanges } from './live-stream.js';
import { postRef, registerPostActor } from './post-actor.js';
import { selectByAuthor, selectPost } from './post-rows.js';
import { postMigrations } from './posts-table.js';
import { deleteUsersPosts } from './user-deleted.js';

export { hydratePosts } from './hydrate.js';

const DEFAULT_PAGE = 20;

/**
 * The `posts` capability: create (1–10 ready media items of the author, a
 * caption with hashtags and mentions, a place), read hydrated, delete, and a
 * user's posts newest first. Schemas: `protocol/src/methods/posts.ts`.
 * Writes go through the `post` actor of the post id (`post-actor.ts`), on
 * the author's shard; reads go to the databases directly, privacy and
 * blocks checked on each. The feed hydrates its pages with
 * `hydratePosts` (`hydrate.ts`). Live: `post:<id>` is a view under a lease,
 * whose viewers the post actor counts and sends coalesced counts to
 * (`live-stream.ts`, `live-actor.ts`).
 */
export const posts = defineCapability({
  name: 'posts',
  description: 'Posts: photo carousels with captions, hashtags, mentions and a place; read hydrated.',
  migrations: postMigrations,
  actors: (ports) => [registerPostActor(ports)],
  onUserDeleted: deleteUsersPosts,
  streams: { post: postStreamRule },
  async start(ports) {
    watchCountChanges(ports);
    return { stop: async () => {} };
  },
  operations: [
    defineOperation({
      method: 'posts.create',
      summary:
        'Creates a post of the caller from 1–10 of their ready media items (a retry with the same id is a no-op).',
      http: { method: 'POST', path: '/v1/posts', status: 201 },
      auth: 'user',
      handler: async (ctx, p) => ({ post: await createPost(ctx, p) }),
    }),
    defineOperation({
      method: 'posts.get',
      summary: 'A post the caller may see, hydrated (author, media variant URLs, placeholders, counts).',
      http: { method: 'GET', path: '/v1/posts/{id}' },
      auth: 'user',
      handler: async (ctx, p) => {
        const [post] = await hydratePosts(ctx, ctx.caller.userId, [p.id]);
        if (!post) throw new ShutterError('not_found', 'no post with that id');
        return { post };
      },
    }),
    defineOperation({
      method: 'posts.delete',
      summary: "Deletes one of the caller's posts (idempotent): it leaves every feed.",
      http: { method: 'DELETE', path: '/v1/posts/{id}' },
      auth: 'user',
      handler: async (ctx, p) => {
        const me = ctx.caller.userId;
        const row = await selectPost(ctx.db, p.id);
        if (!row) throw new ShutterError('not_found', 'no post with that id');
        if (row.authorId !== me) {
          // Someone else's: `forbidden` only if the caller could see it, else it does not exist for them.
          const author = row.deleted ? undefined : await new Users(ctx.db).get(row.authorId);
          if (!author || !(await new GraphReads(ctx.db).canSee(me, author)))
            throw new ShutterError('not_found', 'no post with that id');
          throw new ShutterError('forbidden', 'only its author may delete a post');
        }
        await postRef(ctx.actors, p.id).ask({ type: 'delete', by: me }, { deadlineMs: ctx.askTimeoutMs });
        return { id: p.id, deleted: true as const };
      },
    }),
    defineOperation({
      method: 'posts.list',
      summary: "A user's posts, newest first, cursor-paginated.",
      http: { method: 'GET', path: '/v1/users/{id}/posts' },
      auth: 'user',
      handler: async (ctx, p) => {
        const me = ctx.caller.userId;
        const before = p.cursor === undefined ? undefined : decodeCursor(p.cursor);
        const owner = await new Users(ctx.db).get(p.id);
        if (!owner) throw new ShutterError('not_found', 'no such user');
        if (me !== owner.id) {
          const r = await new GraphReads(ctx.db).relation(me, owner.id);
          if (r.blocking || r.blockedBy)
            throw new ShutterError('blocked', "you cannot see this user's posts");
          if (owner.private && r.following !== 'active')
            throw new ShutterError('forbidden', 'this account is private: only its followers see its posts');
        }
        const limit = p.limit ?? DEFAULT_PAGE;
        const rows = await selectByAuthor(ctx.db.forId(owner.id), owner.id, { before, limit: limit + 1 });
        const page = rows.slice(0, limit);
        const items = await hydrateRows(ctx, me, page, { checkVisibility: false });
        const last = page[page.length - 1];
        return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
      },
    }),
  ],
});
