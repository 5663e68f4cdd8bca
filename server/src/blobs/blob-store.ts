/**
 * The object store port. Adapters: `LocalBlobStore` (a directory under
 * DATA_DIR, served over HTTP by the node: the embedded default) and
 * `S3BlobStore` (any S3-compatible endpoint). Both pass `blobStoreContract`.
 *
 * Contract:
 * - Keys are `/`-separated, 1–1024 bytes of `[A-Za-z0-9/_.=-]`, never
 *   starting or ending with `/`, with no empty, `.` or `..` segment and no
 *   `..` anywhere; anything else is refused with `bad_request` before any I/O
 *   (`assertKey`).
 * - `put` streams its body: memory use does not grow with object size. It
 *   stores the object whole or not at all (a failed put leaves no object, and
 *   an older object under the key stays as it was). When `meta.size` is given
 *   a body of another length fails with `size_mismatch`.
 * - `get` supports an inclusive byte range (`end` is clamped to the last
 *   byte; a `start` past the end fails with `bad_request`); a missing key
 *   fails with `not_found`. `size` is always the whole object's size; `range`
 *   says which bytes `body` holds.
 * - `head` of a missing key resolves `undefined`; `delete` of a missing key
 *   succeeds.
 * - ETags are opaque strings without quotes; equal bytes put the same way
 *   give equal ETags.
 * - Presigned URLs are bound to method, key, expiry and (for PUT) content
 *   type and length; the client sends `headers` unchanged. A local store's
 *   URLs may be path-only (`/media/…`) when it does not know its public
 *   origin: the caller resolves them against the request's origin.
 * - Multipart: parts are numbered 1–10 000, each but the last ≥ 5 MiB on
 *   S3. `uploadPart` (and a PUT to a presigned part URL) returns the part's
 *   ETag; uploading a part number again replaces it. `completeMultipart`
 *   takes the part list the caller recorded (the store's own listing is not
 *   relied on: s3rver cannot list parts) and fails with `part_missing` when
 *   a listed part or ETag is unknown; afterwards the upload id is gone.
 *   `abortMultipart` deletes every part and succeeds for an unknown id.
 */
export interface BlobStore {
  readonly kind: 'local' | 's3';
  put(key: string, body: AsyncIterable<Uint8Array> | Uint8Array, meta: BlobPutMeta): Promise<BlobInfo>;
  get(key: string, range?: ByteRange): Promise<BlobObject>;
  head(key: string): Promise<BlobInfo | undefined>;
  delete(key: string): Promise<void>;

  /** A URL the client can PUT the object to directly, bound to size and type, valid for `expiresInSeconds`. */
  presignPut(
    key: string,
    opts: { contentType: string; contentLength: number; expiresInSeconds: number },
  ): Promise<PresignedRequest>;
  /** A URL the client can GET the object from. */
  presignGet(key: string, opts: { expiresInSeconds: number }): Promise<string>;

  /** Starts a multipart upload; returns the store's upload id. */
  createMultipart(key: string, meta: BlobPutMeta): Promise<string>;
  /** A URL the client can PUT one part to; bound to `contentLength` when given. */
  presignPart(
    key: string,
    uploadId: string,
    partNumber: number,
    opts: { expiresInSeconds: number; contentLength?: number },
  ): Promise<PresignedRequest>;
  uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: AsyncIterable<Uint8Array> | Uint8Array,
    size: number,
  ): Promise<{ etag: string }>;
  completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<BlobInfo>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

export interface BlobPutMeta {
  contentType: string;
  cacheControl?: string;
  size?: number;
}

export interface BlobInfo {
  key: string;
  size: number;
  etag: string;
  contentType: string;
  lastModified: Date;
  cacheControl?: string;
}

export interface BlobObject extends BlobInfo {
  /** The bytes served: the whole object, or `range` of it. */
  body: AsyncIterable<Uint8Array>;
  range?: ByteRange;
}

export interface PresignedRequest {
  method: 'PUT';
  url: string;
  /** Headers the client must send unchanged. */
  headers: Record<string, string>;
  expiresAt: number;
}
