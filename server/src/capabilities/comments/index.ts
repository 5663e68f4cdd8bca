import { defineCapability, defineOperation } from '../operation.js';
import { addComment } from './add.js';
import { commentMigrations } from './comments-table.js';
import { listComments, listReplies } from './list.js';
import { deleteComment } from './remove.js';
import { deleteUsersComments } from './user-deleted.js';

/**
 * The `comments` capability: add (client-made id, a retry is a no-op),
 * delete (by the comment's author or the post's), a post's comments newest
 * first with their first replies, a comment's replies; replies one level
 * deep; @mentions resolved to accounts; live on the post's stream
 * (`post:<id>`). Schemas: `protocol/src/methods/comments.ts`.
 *
 * Storage: the `comments` table in the POST's database (a comment id
 * carries its post's shard), beside the `posts.comment_count` it moves.
 *
 * **No actor.** Writes are plain transactions in that one database
 * (`comment-writes.ts`): the row and the counts move together, SQL
 * increments under row locks are exact under any concurrency, and a fixed
 * lock order (top-level comment, reply, post) keeps writers from
 * deadlocking. The `post` actor would add a hop to the author's node and
 * serialize comments with the post's likes for no gain in correctness.
 * What an actor would give — one order of a post's stream events — is
 * given up: two writers of one post on different nodes publish in either
 * order, so within the milliseconds between an add's commit and its
 * publish a delete's `comment_deleted` may overtake its `comment` (clients
 * key comments by id and remember the deleted ones: docs/protocol.md).
 *
 * After each commit, `comment.created` / `comment.deleted` are emitted
 * (awaited) and the post's stream gets `comment` / `comment_deleted`
 * (`announce.ts`); a retry announces again.
 */
export const comments = defineCapability({
  name: 'comments',
  description:
    'Comments on posts: add, delete, list with replies one level deep, @mentions, live to viewers.',
  migrations: commentMigrations,
  onUserDeleted: deleteUsersComments,
  operations: [
    defineOperation({
      method: 'comments.add',
      summary:
        'Adds a comment (or a reply) of the caller to a post they may see; a retry with the same commentId is a no-op.',
      http: { method: 'POST', path: '/v1/posts/{id}/comments', status: 201 },
      auth: 'user',
      handler: async (ctx, p) => ({ comment: await addComment(ctx, p) }),
    }),
    defineOperation({
      method: 'comments.delete',
      summary:
        "Deletes a comment (idempotent), by its author or the post's; a top-level one takes its replies.",
      http: { method: 'DELETE', path: '/v1/comments/{id}' },
      auth: 'user',
      handler: (ctx, p) => deleteComment(ctx, p.id),
    }),
    defineOperation({
      method: 'comments.list',
      summary: "A post's top-level comments, newest first, each with its reply count and first replies.",
      http: { method: 'GET', path: '/v1/posts/{id}/comments' },
      auth: 'user',
      handler: listComments,
    }),
    defineOperation({
      method: 'comments.replies',
      summary: "A top-level comment's replies, oldest first, cursor-paginated.",
      http: { method: 'GET', path: '/v1/comments/{id}/replies' },
      auth: 'user',
      handler: listReplies,
    }),
  ],
});
