import { ShutterError } from '@shutter/protocol';
import type { Migration, Sql, SqlQueryable } from '../../sql/index.js';

export const uploadMigrations: Migration[] = [
  {
    id: 'uploads_001_records',
    sql: `CREATE TABLE media_uploads (
      id text PRIMARY KEY,
      owner_id text NOT NULL,
      mode text NOT NULL,
      status text NOT NULL,
      object_key text NOT NULL,
      content_type text NOT NULL,
      size bigint NOT NULL,
      part_size bigint NOT NULL DEFAULT 0,
      part_count int NOT NULL DEFAULT 0,
      store_upload_id text,
      sha256 text,
      media_id text,
      media_status text,
      failure text,
      cleanup_pending boolean NOT NULL DEFAULT false,
      cleanup_attempts int NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL
    );
    CREATE INDEX media_uploads_owner ON media_uploads (owner_id, created_at);
    CREATE INDEX media_uploads_sweep ON media_uploads (status, expires_at);
    CREATE TABLE media_upload_parts (
      upload_id text NOT NULL REFERENCES media_uploads (id) ON DELETE CASCADE,
      part_number int NOT NULL,
      etag text NOT NULL,
      size bigint NOT NULL,
      PRIMARY KEY (upload_id, part_number)
    );`,
  },
  {
    // When the sweeper deletes the upload's key once more: after the last
    // presigned URL of a completed single PUT expired (docs/media.md, "Originals").
    id: 'uploads_002_recheck',
    sql: 'ALTER TABLE media_uploads ADD COLUMN recheck_at timestamptz',
  },
];

export type UploadMode = 'single' | 'multipart' | 'stream';
/**
 * pending → completing → stored → completed; pending → aborted | expired;
 * anything unfinished → failed. `stored` means the store holds the whole
 * object but the media record is not made yet (a retried complete resumes there).
 */
export type UploadStatus =
  | 'pending'
  | 'completing'
  | 'stored'
  | 'completed'
  | 'aborted'
  | 'expired'
  | 'failed';
export const OPEN_STATUSES: readonly UploadStatus[] = ['pending', 'completing', 'stored'];

export interface UploadRecord {
  id: string;
  ownerId: string;
  mode: UploadMode;
  status: UploadStatus;
  objectKey: string;
  contentType: string;
  size: number;
  partSize: number;
  partCount: number;
  storeUploadId: string | null;
  sha256: string | null;
  mediaId: string | null;
  mediaStatus: string | null;
  failure: string | null;
  cleanupPending: boolean;
  cleanupAttempts: number;
  /**
   * A completed single PUT: when every presigned URL of it has expired and
   * the sweeper deletes its key again (bytes PUT after completion land
   * there). Null otherwise.
   */
  recheckAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
}

export interface UploadPart {
  partNumber: number;
  etag: string;
  size: number;
}

export interface UploadQuota {
  inFlightBytes: number;
  inFlightUploads: number;
  dailyBytes: number;
}

type Row = Record<string, unknown>;
const DAY_MS = 86_400_000;

/** Upload records and the parts the server has seen complete (its own list: stores are not asked). */
export class UploadRepo {
  constructor(private readonly sql: Sql) {}

  /** Inserts `rec` unless it would take its owner past a quota (`quota_exceeded`, checked under a per-owner lock). */
  async create(rec: UploadRecord, quota: UploadQuota): Promise<void> {
    await this.sql.transaction(async (tx) => {
      // Serialises concurrent creates of one owner so two cannot both pass the check.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`media_uploads:${rec.ownerId}`]);
      await checkQuota(tx, rec, quota);
      await tx.query(
        `INSERT INTO media_uploads (id, owner_id, mode, status, object_key, content_type, size, part_size, part_count,
           store_upload_id, created_at, updated_at, expires_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11,$12)`,
        [
          rec.id,
          rec.ownerId,
          rec.mode,
          rec.status,
          rec.objectKey,
          rec.contentType,
          rec.size,
          rec.partSize,
          rec.partCount,
          rec.storeUploadId,
          rec.createdAt,
          rec.expiresAt,
        ],
      );
    });
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    const r = await this.sql.query('SELECT * FROM media_uploads WHERE id = $1', [id]);
    return r.rows[0] && toRecord(r.rows[0]);
  }

  async parts(id: string): Promise<UploadPart[]> {
    const r = await this.sql.query<Row>(
      'SELECT part_number, etag, size FROM media_upload_parts WHERE upload_id = $1 ORDER BY part_number',
      [id],
    );
    return r.rows.map((p) => ({
      partNumber: Number(p.part_number),
      etag: String(p.etag),
      size: Number(p.size),
    }));
  }

  /** Records (or replaces) a completed part, only while the upload is pending. False when it is not. */
  async recordPart(id: string, part: UploadPart, now: Date): Promise<boolean> {
    return this.sql.transaction(async (tx) => {
      const r = await tx.query(
        "UPDATE media_uploads SET updated_at = $2 WHERE id = $1 AND status = 'pending' RETURNING id",
        [id, now],
      );
      if (r.rows.length === 0) return false;
      await tx.query(
        `INSERT INTO media_upload_parts (upload_id, part_number, etag, size) VALUES ($1, $2, $3, $4)
         ON CONFLICT (upload_id, part_number) DO UPDATE SET etag = EXCLUDED.etag, size = EXCLUDED.size`,
        [id, part.partNumber, part.etag, part.size],
      );
      return true;
    });
  }

  /** Moves the upload from one of `from` to `to` (compare-and-set), setting `fields`; the new record or undefined. */
  async transition(
    id: string,
    from: readonly UploadStatus[],
    to: UploadStatus,
    now: Date,
    fields: Partial<
      Pick<
        UploadRecord,
        'sha256' | 'size' | 'mediaId' | 'mediaStatus' | 'failure' | 'cleanupPending' | 'recheckAt'
      >
    > = {},
  ): Promise<UploadRecord | undefined> {
    const sets = ['status = $3', 'updated_at = $4'];
    const params: unknown[] = [id, from, to, now];
    const columns = {
      sha256: 'sha256',
      size: 'size',
      mediaId: 'media_id',
      mediaStatus: 'media_status',
      failure: 'failure',
      cleanupPending: 'cleanup_pending',
      recheckAt: 'recheck_at',
    } as const;
    for (const [k, col] of Object.entries(columns)) {
      const v = fields[k as keyof typeof fields];
      if (v === undefined) continue;
      params.push(v);
      sets.push(`${col} = $${params.length}`);
    }
    const r = await this.sql.query(
      `UPDATE media_uploads SET ${sets.join(', ')} WHERE id = $1 AND status = ANY($2::text[]) RETURNING *`,
      params,
    );
    return r.rows[0] && toRecord(r.rows[0]);
  }

  async setStoreUploadId(id: string, storeUploadId: string): Promise<void> {
    await this.sql.query('UPDATE media_uploads SET store_upload_id = $2 WHERE id = $1', [id, storeUploadId]);
  }

  /** Counts one cleanup attempt; `done` clears the flag. */
  async cleanupAttempted(id: string, done: boolean): Promise<void> {
    await this.sql.query(
      'UPDATE media_uploads SET cleanup_pending = $2, cleanup_attempts = cleanup_attempts + 1 WHERE id = $1',
      [id, !done],
    );
  }

  /** Sets (or clears, with null) when the sweeper deletes a completed upload's key once more. */
  async setRecheck(id: string, at: Date | null): Promise<void> {
    await this.sql.query('UPDATE media_uploads SET recheck_at = $2 WHERE id = $1', [id, at]);
  }

  /**
   * Uploads the sweeper should look at: open past expiry, stuck completing,
   * with a cleanup to retry, or completed with a recheck due.
   */
  async sweepable(now: Date, stuckBefore: Date, maxAttempts: number, limit: number): Promise<UploadRecord[]> {
    const r = await this.sql.query(
      `SELECT * FROM media_uploads
       WHERE (status IN ('pending', 'stored') AND expires_at < $1)
          OR (status = 'completing' AND updated_at < $2)
          OR (cleanup_pending AND cleanup_attempts < $3)
          OR (status = 'completed' AND recheck_at < $1)
       ORDER BY expires_at LIMIT $4`,
      [now, stuckBefore, maxAttempts, limit],
    );
    return r.rows.map(toRecord);
  }
}

async function checkQuota(tx: SqlQueryable, rec: UploadRecord, quota: UploadQuota): Promise<void> {
  const since = new Date(rec.createdAt.getTime() - DAY_MS);
  const r = await tx.query<Row>(
    `SELECT
       coalesce(sum(size) FILTER (WHERE status IN ('pending', 'completing', 'stored')), 0) AS in_flight_bytes,
       count(*) FILTER (WHERE status IN ('pending', 'completing', 'stored')) AS in_flight_uploads,
       coalesce(sum(size) FILTER (WHERE status NOT IN ('aborted', 'expired', 'failed') AND created_at > $2), 0) AS day_bytes,
       min(created_at) FILTER (WHERE status NOT IN ('aborted', 'expired', 'failed') AND created_at > $2) AS day_oldest
     FROM media_uploads WHERE owner_id = $1 AND (status IN ('pending', 'completing', 'stored') OR created_at > $2)`,
    [rec.ownerId, since],
  );
  const u = r.rows[0] ?? {};
  const inFlightBytes = Number(u.in_flight_bytes ?? 0);
  const inFlightUploads = Number(u.in_flight_uploads ?? 0);
  const dayBytes = Number(u.day_bytes ?? 0);
  const exceeded = (limit: string, message: string, extra: Record<string, unknown>, retryAfterMs?: number) =>
    new ShutterError('quota_exceeded', message, {
      details: { limit, ...extra },
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  if (inFlightUploads + 1 > quota.inFlightUploads) {
    throw exceeded(
      'in_flight_uploads',
      `at most ${quota.inFlightUploads} uploads may be open at once; complete or abort one`,
      { allowed: quota.inFlightUploads, used: inFlightUploads },
    );
  }
  if (inFlightBytes + rec.size > quota.inFlightBytes) {
    throw exceeded(
      'in_flight_bytes',
      `at most ${quota.inFlightBytes} bytes may be in unfinished uploads (${inFlightBytes} are)`,
      { allowed: quota.inFlightBytes, used: inFlightBytes, requested: rec.size },
    );
  }
  if (dayBytes + rec.size > quota.dailyBytes) {
    const oldest = u.day_oldest ? new Date(u.day_oldest as string | Date).getTime() : rec.createdAt.getTime();
    const retry = Math.max(1000, oldest + DAY_MS - rec.createdAt.getTime());
    throw exceeded(
      'daily_bytes',
      `at most ${quota.dailyBytes} bytes may be uploaded in 24 hours (${dayBytes} were)`,
      { allowed: quota.dailyBytes, used: dayBytes, requested: rec.size },
      retry,
    );
  }
}

function toRecord(r: Row): UploadRecord {
  const date = (v: unknown) => (v instanceof Date ? v : new Date(String(v)));
  const strOrNull = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: String(r.id),
    ownerId: String(r.owner_id),
    mode: r.mode as UploadMode,
    status: r.status as UploadStatus,
    objectKey: String(r.object_key),
    contentType: String(r.content_type),
    size: Number(r.size),
    partSize: Number(r.part_size),
    partCount: Number(r.part_count),
    storeUploadId: strOrNull(r.store_upload_id),
    sha256: strOrNull(r.sha256),
    mediaId: strOrNull(r.media_id),
    mediaStatus: strOrNull(r.media_status),
    failure: strOrNull(r.failure),
    cleanupPending: Boolean(r.cleanup_pending),
    cleanupAttempts: Number(r.cleanup_attempts),
    recheckAt: r.recheck_at ? date(r.recheck_at) : null,
    createdAt: date(r.created_at),
    updatedAt: date(r.updated_at),
    expiresAt: date(r.expires_at),
  };
}
