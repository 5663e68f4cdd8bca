import type { Migration } from '../../sql/sql.js';

/**
 * The `posts` table: a post lives in its author's database (its id carries
 * the author's logical shard). `media_ids` in carousel order; `hashtags` and
 * `mentions` (lower-cased, without `#`/`@`) as parsed from the caption.
 * Counts are kept by the post's writers in the same transaction as the row
 * they count (likes and comments arrive with the engagement capability).
 * A deleted post keeps its row (`deleted_at`) so a retried create with the
 * same id stays a no-op instead of bringing it back.
 */
export const postMigrations: Migration[] = [
  {
    id: 'posts_001_posts',
    sql: `CREATE TABLE posts (
      id uuid PRIMARY KEY,
      author_id uuid NOT NULL,
      caption text NOT NULL DEFAULT '',
      media_ids text[] NOT NULL,
      hashtags text[] NOT NULL DEFAULT '{}',
      mentions text[] NOT NULL DEFAULT '{}',
      lat double precision,
      lon double precision,
      place_name text,
      like_count integer NOT NULL DEFAULT 0,
      comment_count integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    );
    CREATE INDEX posts_by_author ON posts (author_id, id DESC) WHERE deleted_at IS NULL;`,
  },
];
