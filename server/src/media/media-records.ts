import type { Migration, Sql } from '../sql/index.js';

/** One statement per migration: PGlite runs each as a prepared statement. */
export const mediaMigrations: Migration[] = [
  {
    id: 'media_001_items',
    sql: `CREATE TABLE media_items (
      id text PRIMARY KEY,
      owner_id text NOT NULL,
      sha256 text,
      status text NOT NULL CHECK (status IN ('processing', 'ready', 'failed')),
      failure_code text,
      failure_reason text,
      original_key text NOT NULL,
      original_bytes bigint NOT NULL,
      declared_type text NOT NULL,
      format text,
      width int,
      height int,
      variants jsonb NOT NULL DEFAULT '[]',
      placeholder text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      ready_at timestamptz
    )`,
  },
  {
    id: 'media_002_sha',
    sql: 'CREATE INDEX media_items_sha ON media_items (sha256, status) WHERE sha256 IS NOT NULL',
  },
  { id: 'media_003_owner', sql: 'CREATE INDEX media_items_owner ON media_items (owner_id, created_at DESC)' },
];

export type MediaStatus = 'processing' | 'ready' | 'failed';

export interface MediaVariant {
  /** The long-edge size asked for; the variant's long edge is at most this (never upscaled). */
  size: number;
  format: 'webp' | 'jpeg';
  /** Content-addressed object key: `media/v/<sha256 of the bytes>.<ext>`. */
  key: string;
  bytes: number;
  width: number;
  height: number;
}

export interface MediaItem {
  id: string;
  ownerId: string;
  sha256: string | null;
  status: MediaStatus;
  failureCode: string | null;
  failureReason: string | null;
  originalKey: string;
  originalBytes: number;
  declaredType: string;
  /** The sniffed type of the original (jpeg, png, webp, gif, tiff, avif). */
  format: string | null;
  /** Of the original, after auto-orientation. */
  width: number | null;
  height: number | null;
  variants: MediaVariant[];
  /** ThumbHash, base64. */
  placeholder: string | null;
  createdAt: Date;
  updatedAt: Date;
  readyAt: Date | null;
}

export interface ProcessedResult {
  sha256: string;
  format: string;
  width: number;
  height: number;
  variants: MediaVariant[];
  placeholder: string;
}

type Row = Record<string, unknown>;

function toItem(r: Row): MediaItem {
  return {
    id: r.id as string,
    ownerId: r.owner_id as string,
    sha256: (r.sha256 as string | null) ?? null,
    status: r.status as MediaStatus,
    failureCode: (r.failure_code as string | null) ?? null,
    failureReason: (r.failure_reason as string | null) ?? null,
    originalKey: r.original_key as string,
    originalBytes: Number(r.original_bytes),
    declaredType: r.declared_type as string,
    format: (r.format as string | null) ?? null,
    width: (r.width as number | null) ?? null,
    height: (r.height as number | null) ?? null,
    variants: (r.variants as MediaVariant[] | null) ?? [],
    placeholder: (r.placeholder as string | null) ?? null,
    createdAt: new Date(r.created_at as string | Date),
    updatedAt: new Date(r.updated_at as string | Date),
    readyAt: r.ready_at ? new Date(r.ready_at as string | Date) : null,
  };
}

/**
 * The key of a processed original: named by the SHA-256 of its bytes, written
 * only by processing from the bytes it hashed. No presigned URL ever names
 * it, so nobody can change the bytes behind a record (docs/media.md,
 * "Originals"). Owner-free: equal bytes of any users are stored once.
 */
export function originalKeyOf(sha256: string): string {
  return `originals/${sha256}`;
}

/**
 * Media items in the relational store. Every write is one statement (no
 * transaction held open: PGlite is one connection). Dedup is per owner: an
 * item's content is keyed by its owner and SHA-256, so finishing the
 * processing of one item finishes every item of the same owner and content
 * still processing, and another user's items are never consulted (their
 * existence would show in how fast an upload becomes ready).
 */
export class MediaRecords {
  constructor(private readonly sql: Sql) {}

  async get(id: string): Promise<MediaItem | undefined> {
    const r = await this.sql.query('SELECT * FROM media_items WHERE id = $1', [id]);
    return r.rows[0] ? toItem(r.rows[0]) : undefined;
  }

  /** The items among `ids` that exist, in one query (a page of posts reads its media at once). */
  async many(ids: readonly string[]): Promise<MediaItem[]> {
    if (ids.length === 0) return [];
    const r = await this.sql.query('SELECT * FROM media_items WHERE id = ANY($1::text[])', [
      [...new Set(ids)],
    ]);
    return r.rows.map(toItem);
  }

  async insertProcessing(i: {
    id: string;
    ownerId: string;
    sha256: string | null;
    originalKey: string;
    originalBytes: number;
    declaredType: string;
  }): Promise<void> {
    await this.sql.query(
      `INSERT INTO media_items (id, owner_id, sha256, status, original_key, original_bytes, declared_type)
       VALUES ($1, $2, $3, 'processing', $4, $5, $6)`,
      [i.id, i.ownerId, i.sha256, i.originalKey, i.originalBytes, i.declaredType],
    );
  }

  /**
   * Inserts an item as a copy of a ready item of the same owner and content
   * (same SHA-256 and size) whose original is content-addressed, sharing its
   * original and variants. Returns the new item, or undefined when no such
   * item exists.
   */
  async insertFromReady(i: {
    id: string;
    ownerId: string;
    sha256: string;
    originalBytes: number;
    declaredType: string;
  }): Promise<MediaItem | undefined> {
    const r = await this.sql.query(
      `INSERT INTO media_items (id, owner_id, sha256, status, original_key, original_bytes, declared_type,
         format, width, height, variants, placeholder, ready_at)
       SELECT $1, $2, sha256, 'ready', original_key, original_bytes, $3, format, width, height, variants, placeholder, now()
       FROM media_items WHERE owner_id = $2 AND sha256 = $4 AND status = 'ready' AND original_bytes = $5
         AND original_key = $6
       ORDER BY created_at LIMIT 1
       RETURNING *`,
      [i.id, i.ownerId, i.declaredType, i.sha256, i.originalBytes, originalKeyOf(i.sha256)],
    );
    return r.rows[0] ? toItem(r.rows[0]) : undefined;
  }

  /**
   * Finishes a processing item from a ready item of the same owner and
   * content (with a content-addressed original), if there is one.
   */
  async completeFromReady(id: string, ownerId: string, sha256: string): Promise<MediaItem | undefined> {
    const r = await this.sql.query(
      `UPDATE media_items m SET status = 'ready', sha256 = s.sha256, original_key = s.original_key,
         original_bytes = s.original_bytes, format = s.format,
         width = s.width, height = s.height, variants = s.variants, placeholder = s.placeholder,
         ready_at = now(), updated_at = now()
       FROM (SELECT * FROM media_items WHERE owner_id = $2 AND sha256 = $3 AND status = 'ready' AND original_key = $4
             ORDER BY created_at LIMIT 1) s
       WHERE m.id = $1 AND m.owner_id = $2 AND m.status = 'processing'
       RETURNING m.*`,
      [id, ownerId, sha256, originalKeyOf(sha256)],
    );
    return r.rows[0] ? toItem(r.rows[0]) : undefined;
  }

  /**
   * Marks `id` and every item of the same owner and content still processing
   * ready, all pointing at the content-addressed original of `p.sha256` (the
   * one stored copy, `originalBytes` long). Returns the items it changed,
   * each with the original key it had before (its upload's copy, to delete).
   */
  async markReady(
    id: string,
    ownerId: string,
    p: ProcessedResult & { originalBytes: number },
  ): Promise<(MediaItem & { previousKey: string })[]> {
    const r = await this.sql.query(
      `WITH old AS (
         SELECT id, original_key FROM media_items
         WHERE status = 'processing' AND (id = $1 OR (owner_id = $9 AND sha256 = $2)) FOR UPDATE)
       UPDATE media_items m SET status = 'ready', sha256 = $2, format = $3, width = $4, height = $5, variants = $6,
         placeholder = $7, original_key = $8, original_bytes = $10, failure_code = NULL, failure_reason = NULL,
         ready_at = now(), updated_at = now()
       FROM old WHERE m.id = old.id
       RETURNING m.*, old.original_key AS previous_key`,
      [
        id,
        p.sha256,
        p.format,
        p.width,
        p.height,
        JSON.stringify(p.variants),
        p.placeholder,
        originalKeyOf(p.sha256),
        ownerId,
        p.originalBytes,
      ],
    );
    return r.rows.map((row) => ({ ...toItem(row), previousKey: row.previous_key as string }));
  }

  /**
   * Puts an item whose processing job died (`failed` with
   * `media_processing_failed`) back to `processing`, clearing its failure.
   * One statement: of concurrent calls only the first finds it failed.
   * Refusals (any other failure code) are final and never reopened. Returns
   * the reopened item with the failure reason it had (to restore it should
   * re-queueing fail), or undefined when the item is not in that state.
   */
  async reopenDead(id: string): Promise<(MediaItem & { previousReason: string | null }) | undefined> {
    const r = await this.sql.query(
      `WITH old AS (
         SELECT id, failure_reason FROM media_items
         WHERE id = $1 AND status = 'failed' AND failure_code = 'media_processing_failed' FOR UPDATE)
       UPDATE media_items m SET status = 'processing', failure_code = NULL, failure_reason = NULL, updated_at = now()
       FROM old WHERE m.id = old.id AND m.status = 'failed' AND m.failure_code = 'media_processing_failed'
       RETURNING m.*, old.failure_reason AS previous_reason`,
      [id],
    );
    const row = r.rows[0];
    return row
      ? { ...toItem(row), previousReason: (row.previous_reason as string | null) ?? null }
      : undefined;
  }

  /**
   * Marks `id` failed, and with it every item of the same owner and content
   * still processing when the failure belongs to the content (`content` given).
   */
  async markFailed(
    id: string,
    code: string,
    reason: string,
    content?: { ownerId: string; sha256: string },
  ): Promise<MediaItem[]> {
    const r = await this.sql.query(
      `UPDATE media_items SET status = 'failed', failure_code = $2, failure_reason = $3,
         sha256 = COALESCE($4, sha256), updated_at = now()
       WHERE status = 'processing' AND (id = $1 OR ($4::text IS NOT NULL AND owner_id = $5 AND sha256 = $4))
       RETURNING *`,
      [id, code, reason, content?.sha256 ?? null, content?.ownerId ?? null],
    );
    return r.rows.map(toItem);
  }
}
