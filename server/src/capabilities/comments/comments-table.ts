import type { Migration } from '../../sql/sql.js';

/**
 * The `comments` table, in the POST's database: a comment's id carries its
 * post's logical shard, so a post's comments sit beside it (and beside its
 * `comment_count`) and `forId(commentId)` finds a comment without a lookup.
 *
 * - `parent_id`: the top-level comment a reply sits under (replies are one
 *   level deep), null for a top-level comment.
 * - `reply_count`: the live replies of a top-level comment, moved in the
 *   same transaction as each reply row (as `posts.comment_count` is).
 * - `mentions` / `mention_ids`: the @usernames of the text that named an
 *   account when it was written, and those accounts' ids, in step.
 * - `deleted_at`: a delete keeps the row, so a retried add with the same id
 *   stays a no-op instead of bringing the comment back. Only an account
 *   deletion removes rows (the account's own).
 */
export const commentMigrations: Migration[] = [
  {
    id: 'comments_001_comments',
    sql: `CREATE TABLE comments (
      id uuid PRIMARY KEY,
      post_id uuid NOT NULL,
      parent_id uuid,
      author_id uuid NOT NULL,
      text text NOT NULL,
      mentions text[] NOT NULL DEFAULT '{}',
      mention_ids uuid[] NOT NULL DEFAULT '{}',
      reply_count integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    );
    CREATE INDEX comments_top ON comments (post_id, id DESC) WHERE parent_id IS NULL AND deleted_at IS NULL;
    CREATE INDEX comments_replies ON comments (parent_id, id) WHERE deleted_at IS NULL;
    CREATE INDEX comments_by_author ON comments (author_id);`,
  },
];
