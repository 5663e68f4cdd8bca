import type { Migration } from '../../sql/sql.js';

/** Longest hashtag kept in `post_tags`, in bytes: longer ones would not fit a B-tree entry. */
export const MAX_INDEXED_TAG_BYTES = 400;

/**
 * What search reads besides the tables it searches, in every database (each
 * for the posts and users of its logical shards). Ids sort after
 * `posts_001_posts` and `accounts_001_users`, whose tables they extend.
 *
 * - `post_tags`: one row per (hashtag, live post), with the post's like
 *   count, so a hashtag page walks an index in its order and stops at the
 *   page: `(tag, post_id DESC)` for recent (the primary key), `(tag,
 *   like_count DESC, post_id DESC)` for top. Triggers on `posts` keep it
 *   in the transaction of each write: a new post adds its tags (one
 *   statement per INSERT, from its transition table, so bulk loads stay
 *   fast), a like count that moves moves with it, a deleted post leaves.
 *   Posts without hashtags cost the triggers nothing (`WHEN`). Tags longer
 *   than MAX_INDEXED_TAG_BYTES are not indexed (a caption may hold one of
 *   2 200 characters; no page finds it).
 * - `caption_words`, the caption's words as a stored generated column
 *   (`to_tsvector('simple', caption)`: no stemming, no stop words, any
 *   language), and a GIN index on it for caption search. Stored, so a plan
 *   that walks posts newest first tests each row's words without parsing
 *   its caption again (a parse per row made mid-frequency words 10× slower
 *   at a million posts); the GIN index without `fastupdate`, so no search
 *   scans a pending list (inserts pay a little more instead).
 * - Name-order indexes on `users` (lower-cased, "C" collation: code-point
 *   order, so a prefix is one range) for user search.
 */
export const searchMigrations: Migration[] = [
  {
    id: 'search_001_post_tags',
    sql: `CREATE TABLE post_tags (
      tag text NOT NULL,
      post_id uuid NOT NULL,
      like_count integer NOT NULL,
      PRIMARY KEY (tag, post_id)
    );
    CREATE INDEX post_tags_top ON post_tags (tag, like_count DESC, post_id DESC);

    CREATE FUNCTION post_tags_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO post_tags (tag, post_id, like_count)
      SELECT DISTINCT t.tag, a.id, a.like_count
        FROM added a CROSS JOIN LATERAL unnest(a.hashtags) AS t(tag)
       WHERE a.deleted_at IS NULL AND octet_length(t.tag) <= ${MAX_INDEXED_TAG_BYTES}
      ON CONFLICT DO NOTHING;
      RETURN NULL;
    END $$;
    CREATE TRIGGER post_tags_on_insert AFTER INSERT ON posts
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION post_tags_added();

    CREATE FUNCTION post_tags_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.deleted_at IS NULL AND OLD.deleted_at IS NULL AND NEW.hashtags = OLD.hashtags THEN
        UPDATE post_tags SET like_count = NEW.like_count WHERE tag = ANY (NEW.hashtags) AND post_id = NEW.id;
      ELSE
        DELETE FROM post_tags WHERE tag = ANY (OLD.hashtags) AND post_id = OLD.id;
        IF NEW.deleted_at IS NULL THEN
          INSERT INTO post_tags (tag, post_id, like_count)
          SELECT DISTINCT t, NEW.id, NEW.like_count FROM unnest(NEW.hashtags) AS t
           WHERE octet_length(t) <= ${MAX_INDEXED_TAG_BYTES}
          ON CONFLICT DO NOTHING;
        END IF;
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER post_tags_on_update AFTER UPDATE OF like_count, deleted_at, hashtags ON posts
      FOR EACH ROW
      WHEN ((cardinality(NEW.hashtags) > 0 OR cardinality(OLD.hashtags) > 0)
        AND (NEW.like_count IS DISTINCT FROM OLD.like_count OR NEW.deleted_at IS DISTINCT FROM OLD.deleted_at
          OR NEW.hashtags IS DISTINCT FROM OLD.hashtags))
      EXECUTE FUNCTION post_tags_changed();

    INSERT INTO post_tags (tag, post_id, like_count)
    SELECT DISTINCT t.tag, p.id, p.like_count
      FROM posts p CROSS JOIN LATERAL unnest(p.hashtags) AS t(tag)
     WHERE p.deleted_at IS NULL AND octet_length(t.tag) <= ${MAX_INDEXED_TAG_BYTES}
    ON CONFLICT DO NOTHING;`,
  },
  {
    id: 'search_002_caption_words',
    sql: `ALTER TABLE posts ADD COLUMN caption_words tsvector
      GENERATED ALWAYS AS (to_tsvector('simple', caption)) STORED;
    CREATE INDEX posts_caption_words ON posts USING gin (caption_words) WITH (fastupdate = off)
      WHERE deleted_at IS NULL;`,
  },
  {
    id: 'search_003_user_names',
    sql: `CREATE INDEX users_by_username ON users ((lower(username)) COLLATE "C", id) WHERE deleted_at IS NULL;
    CREATE INDEX users_by_display_name ON users ((lower(display_name)) COLLATE "C", id) WHERE deleted_at IS NULL;`,
  },
];
