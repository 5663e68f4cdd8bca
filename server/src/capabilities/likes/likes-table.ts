import type { Migration } from '../../sql/sql.js';

/**
 * The `likes` table: a like lives with its post, in the post's database
 * (its author's: `db.forId(postId)`), keyed by the membership itself, so a
 * like given twice is one row. The post's `like_count` moves in the same
 * statement as the rows it counts (`like-commits.ts`), never apart.
 *
 * - `likes_newest` lists a post's likers newest first (`likes.list`);
 * - `likes_by_user` finds a user's likes in each database: the account
 *   deletion removes them, and hydration asks which posts of a page the
 *   viewer likes (`likedAmong`).
 *
 * `created_at` is kept to the millisecond so a list cursor names it exactly.
 */
export const likeMigrations: Migration[] = [
  {
    id: 'likes_001_likes',
    sql: `CREATE TABLE likes (
      post_id uuid NOT NULL,
      user_id uuid NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (post_id, user_id)
    );
    CREATE INDEX likes_newest ON likes (post_id, created_at DESC, user_id DESC);
    CREATE INDEX likes_by_user ON likes (user_id, post_id);`,
  },
];
