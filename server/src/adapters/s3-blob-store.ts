import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ShutterError } from '@shutter/protocol';
import type {
  BlobInfo,
  BlobObject,
  BlobPutMeta,
  BlobStore,
  ByteRange,
  CompletedPart,
  PresignedRequest,
} from '../blobs/blob-store.js';
import { assertKey, assertPartNumber, clampRange } from '../blobs/keys.js';
import { ByteMeter, sizeMismatch } from '../blobs/meter.js';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Any S3-compatible endpoint; omitted means AWS. */
  endpoint?: string;
  region: string;
  /** Bucket in the path (`host/bucket/key`) instead of a subdomain: most S3-compatible servers need it. */
  forcePathStyle: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Part size of `put` bodies of unknown length (lib-storage buffers `queueSize` of them). */
const STREAM_PART_BYTES = 5 * 1024 * 1024;

/**
 * The object store on S3 or anything speaking its API. Checksums are only
 * computed when an operation requires them: with the SDK's default
 * (`WHEN_SUPPORTED`) streamed bodies are sent with aws-chunked trailers some
 * S3-compatible servers store verbatim, corrupting the object. Presigning uses
 * the same client so URLs carry the same settings.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  private readonly bucket: string;

  constructor(opts: S3BlobStoreOptions) {
    this.bucket = opts.bucket;
    this.client = new S3Client({
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
    });
  }

  /** Creates the bucket when it does not exist (development and tests; production buckets are provisioned). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
  }

  async put(key: string, body: AsyncIterable<Uint8Array> | Uint8Array, meta: BlobPutMeta): Promise<BlobInfo> {
    assertKey(key);
    const common = {
      Bucket: this.bucket,
      Key: key,
      ContentType: meta.contentType,
      CacheControl: meta.cacheControl,
    };
    if (body instanceof Uint8Array) {
      if (meta.size !== undefined && meta.size !== body.byteLength)
        throw sizeMismatch(meta.size, body.byteLength);
      await this.guard(key, () => this.client.send(new PutObjectCommand({ ...common, Body: body })));
    } else {
      // A stream goes through lib-storage, never a streamed PutObject: an
      // interrupted PutObject leaves a partial object on some S3-compatible
      // servers (s3rver does), while parts stay invisible until completed.
      // Memory: at most `queueSize` parts of STREAM_PART_BYTES.
      const meter = new ByteMeter([], meta.size === undefined ? {} : { exact: meta.size });
      const upload = new Upload({
        client: this.client,
        params: { ...common, Body: Readable.from(meter.pipe(body)) },
        partSize: STREAM_PART_BYTES,
        queueSize: 2,
        leavePartsOnError: false,
      });
      await this.guard(key, () => upload.done());
    }
    const info = await this.head(key);
    if (!info) throw new ShutterError('unavailable', `the store lost ${key} right after writing it`);
    return info;
  }

  async get(key: string, range?: ByteRange): Promise<BlobObject> {
    assertKey(key);
    if (range) clampRange(range, Number.MAX_SAFE_INTEGER);
    const cmd = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      Range: range && `bytes=${range.start}-${range.end}`,
    });
    const r = await this.guard(key, () => this.client.send(cmd));
    const out: BlobObject = { ...this.info(key, r), body: r.Body as Readable };
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(r.ContentRange ?? '');
    if (m) {
      out.range = { start: Number(m[1]), end: Number(m[2]) };
      out.size = Number(m[3]);
    }
    return out;
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    assertKey(key);
    try {
      return this.info(key, await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async presignPut(
    key: string,
    opts: { contentType: string; contentLength: number; expiresInSeconds: number },
  ): Promise<PresignedRequest> {
    assertKey(key);
    const cmd = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ContentType: opts.contentType,
      ContentLength: opts.contentLength,
    });
    const url = await getSignedUrl(this.client, cmd, {
      expiresIn: opts.expiresInSeconds,
      signableHeaders: new Set(['content-type', 'content-length']),
    });
    return {
      method: 'PUT',
      url,
      headers: { 'content-type': opts.contentType, 'content-length': String(opts.contentLength) },
      expiresAt: Date.now() + opts.expiresInSeconds * 1000,
    };
  }

  async presignGet(key: string, opts: { expiresInSeconds: number }): Promise<string> {
    assertKey(key);
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: opts.expiresInSeconds,
    });
  }

  async createMultipart(key: string, meta: BlobPutMeta): Promise<string> {
    assertKey(key);
    const r = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        ContentType: meta.contentType,
        CacheControl: meta.cacheControl,
      }),
    );
    if (!r.UploadId) throw new ShutterError('unavailable', 'the store returned no upload id');
    return r.UploadId;
  }

  async presignPart(
    key: string,
    uploadId: string,
    partNumber: number,
    opts: { expiresInSeconds: number; contentLength?: number },
  ): Promise<PresignedRequest> {
    assertKey(key);
    assertPartNumber(partNumber);
    const cmd = new UploadPartCommand({
      Bucket: this.bucket,
      Key: key,
      UploadId: uploadId,
      PartNumber: partNumber,
      ContentLength: opts.contentLength,
    });
    const bound = opts.contentLength !== undefined;
    const url = await getSignedUrl(this.client, cmd, {
      expiresIn: opts.expiresInSeconds,
      ...(bound ? { signableHeaders: new Set(['content-length']) } : {}),
    });
    const headers: Record<string, string> = bound ? { 'content-length': String(opts.contentLength) } : {};
    return { method: 'PUT', url, headers, expiresAt: Date.now() + opts.expiresInSeconds * 1000 };
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: AsyncIterable<Uint8Array> | Uint8Array,
    size: number,
  ): Promise<{ etag: string }> {
    assertKey(key);
    assertPartNumber(partNumber);
    const r = await this.sendBody(key, body, size, (Body, abortSignal) => {
      const input = {
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body,
        ContentLength: size,
      };
      return this.client.send(new UploadPartCommand(input), { abortSignal });
    });
    return { etag: unquote(r.ETag ?? '') };
  }

  async completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<BlobInfo> {
    assertKey(key);
    const cmd = new CompleteMultipartUploadCommand({
      Bucket: this.bucket,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: {
        Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${unquote(p.etag)}"` })),
      },
    });
    await this.guard(key, () => this.client.send(cmd));
    const info = await this.head(key);
    if (!info) throw new ShutterError('unavailable', `the store lost ${key} right after completing it`);
    return info;
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    assertKey(key);
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
      );
    } catch (e) {
      if (errorName(e) !== 'NoSuchUpload') throw e;
    }
  }

  close(): void {
    this.client.destroy();
  }

  /**
   * Sends a request whose body is a stream of exactly `size` bytes. A body
   * that ends short would leave the request waiting for bytes that never
   * come, and the SDK does not watch its body for errors: the meter fails the
   * stream, which aborts the request, and the stream's error is what we throw.
   */
  private async sendBody<T>(
    key: string,
    body: AsyncIterable<Uint8Array> | Uint8Array,
    size: number,
    send: (body: Readable, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const ac = new AbortController();
    let failure: unknown;
    const stream = Readable.from(new ByteMeter([], { exact: size }).pipe(body));
    stream.on('error', (e) => {
      failure ??= e;
      ac.abort();
    });
    try {
      return await send(stream, ac.signal);
    } catch (e) {
      throw failure ?? toShutterError(e, key);
    }
  }

  /** Runs a store call, turning the store's "no such thing" answers into Shutter codes. */
  private async guard<T>(key: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw toShutterError(e, key);
    }
  }

  private info(
    key: string,
    r: {
      ContentLength?: number | undefined;
      ETag?: string | undefined;
      ContentType?: string | undefined;
      LastModified?: Date | undefined;
      CacheControl?: string | undefined;
    },
  ): BlobInfo {
    const info: BlobInfo = {
      key,
      size: r.ContentLength ?? 0,
      etag: unquote(r.ETag ?? ''),
      contentType: r.ContentType ?? 'application/octet-stream',
      lastModified: r.LastModified ?? new Date(0),
    };
    if (r.CacheControl) info.cacheControl = r.CacheControl;
    return info;
  }
}

function unquote(etag: string): string {
  return etag.replace(/"/g, '');
}

function errorName(e: unknown): string | undefined {
  return (e as { name?: string } | undefined)?.name;
}

function isNotFound(e: unknown): boolean {
  const name = errorName(e);
  const status = (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket' || status === 404;
}

function toShutterError(e: unknown, key: string): unknown {
  if (e instanceof ShutterError) return e;
  const name = errorName(e);
  if (name === 'InvalidPart' || name === 'InvalidPartOrder') {
    return new ShutterError('part_missing', `the store does not have the listed parts of ${key}`, {
      cause: e,
    });
  }
  if (name === 'NoSuchUpload')
    return new ShutterError('not_found', `no multipart upload for ${key}`, { cause: e });
  if (name === 'InvalidRange')
    return new ShutterError('bad_request', `range not satisfiable for ${key}`, { cause: e });
  if (isNotFound(e)) return new ShutterError('not_found', `no object ${key}`, { cause: e });
  return e;
}
