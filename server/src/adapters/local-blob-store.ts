import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import { type SignedGrant, UrlSigner } from '../blobs/url-signer.js';
import { isNotFound, ObjectFiles, type ObjectMeta } from './local-files.js';

export interface LocalBlobStoreOptions {
  /** Directory of the store (DATA_DIR/media). */
  root: string;
  /** HMAC secret of presigned URLs; node-local. */
  signingSecret: string | Uint8Array;
  /** Origin clients reach this node at (`https://media.example.com`); without it presigned URLs are path-only. */
  publicUrl?: string;
  /** Path the node serves objects under (default `/media`). */
  mountPath?: string;
  now?: () => number;
}

const UPLOAD_ID = /^[0-9a-f]{32}$/;

/**
 * The embedded object store: a directory on this node, served over HTTP by
 * `createMediaRoutes`. Presigned URLs point at this node and carry an HMAC
 * (see `UrlSigner`); multipart parts are files, completed by a streaming
 * concatenation.
 */
export class LocalBlobStore implements BlobStore {
  readonly kind = 'local' as const;
  readonly signer: UrlSigner;
  readonly mountPath: string;
  private readonly files: ObjectFiles;
  private readonly now: () => number;
  private ready: Promise<void> | undefined;

  constructor(private readonly opts: LocalBlobStoreOptions) {
    this.files = new ObjectFiles(opts.root);
    this.signer = new UrlSigner(opts.signingSecret);
    this.mountPath = opts.mountPath ?? '/media';
    this.now = opts.now ?? Date.now;
  }

  private init(): Promise<void> {
    this.ready ??= this.files.init();
    return this.ready;
  }

  async put(key: string, body: AsyncIterable<Uint8Array> | Uint8Array, meta: BlobPutMeta): Promise<BlobInfo> {
    assertKey(key);
    await this.init();
    const t = await this.files.writeTemp(body, meta.size === undefined ? {} : { exact: meta.size });
    return this.commit(key, t.path, t.size, t.md5.toString('hex'), meta);
  }

  async head(key: string): Promise<BlobInfo | undefined> {
    assertKey(key);
    await this.init();
    const m = await this.files.readMeta(key);
    return m && toInfo(m);
  }

  async get(key: string, range?: ByteRange): Promise<BlobObject> {
    assertKey(key);
    await this.init();
    // A concurrent overwrite may delete the data file between reading the
    // metadata and opening it; the second try sees the new object.
    for (let attempt = 0; ; attempt++) {
      const m = await this.files.readMeta(key);
      if (!m) throw new ShutterError('not_found', `no object ${key}`);
      const r = range && clampRange(range, m.size);
      try {
        const fh = await open(this.files.dataPath(key, m.file), 'r');
        const out: BlobObject = { ...toInfo(m), body: fh.createReadStream(r ?? {}) };
        if (r) out.range = r;
        return out;
      } catch (e) {
        if (!isNotFound(e) || attempt > 0) throw e;
      }
    }
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    await this.init();
    await this.files.remove(key);
  }

  async presignPut(
    key: string,
    opts: { contentType: string; contentLength: number; expiresInSeconds: number },
  ): Promise<PresignedRequest> {
    assertKey(key);
    const expires = this.expiry(opts.expiresInSeconds);
    const g: SignedGrant = {
      method: 'PUT',
      key,
      expires,
      contentType: opts.contentType,
      contentLength: opts.contentLength,
    };
    return {
      method: 'PUT',
      url: this.url(key, this.signer.sign(g)),
      headers: { 'content-type': opts.contentType, 'content-length': String(opts.contentLength) },
      expiresAt: expires * 1000,
    };
  }

  async presignGet(key: string, opts: { expiresInSeconds: number }): Promise<string> {
    assertKey(key);
    return this.url(
      key,
      this.signer.sign({ method: 'GET', key, expires: this.expiry(opts.expiresInSeconds) }),
    );
  }

  async createMultipart(key: string, meta: BlobPutMeta): Promise<string> {
    assertKey(key);
    await this.init();
    const uploadId = randomBytes(16).toString('hex');
    await mkdir(this.uploadDir(uploadId));
    await writeFile(join(this.uploadDir(uploadId), 'upload.json'), JSON.stringify({ key, meta }));
    return uploadId;
  }

  async presignPart(
    key: string,
    uploadId: string,
    partNumber: number,
    opts: { expiresInSeconds: number; contentLength?: number },
  ): Promise<PresignedRequest> {
    assertKey(key);
    assertPartNumber(partNumber);
    const expires = this.expiry(opts.expiresInSeconds);
    const g: SignedGrant = { method: 'PUT', key, expires, uploadId, partNumber };
    if (opts.contentLength !== undefined) g.contentLength = opts.contentLength;
    const headers: Record<string, string> = {};
    if (opts.contentLength !== undefined) headers['content-length'] = String(opts.contentLength);
    return { method: 'PUT', url: this.url(key, this.signer.sign(g)), headers, expiresAt: expires * 1000 };
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: AsyncIterable<Uint8Array> | Uint8Array,
    size: number,
  ): Promise<{ etag: string }> {
    assertPartNumber(partNumber);
    const dir = await this.openUpload(key, uploadId);
    const t = await this.files.writeTemp(body, { exact: size });
    const etag = t.md5.toString('hex');
    const name = `${partNumber}~${etag}`;
    await rename(t.path, join(dir, name));
    for (const f of await readdir(dir)) {
      if (f.startsWith(`${partNumber}~`) && f !== name) await unlink(join(dir, f)).catch(() => {});
    }
    return { etag };
  }

  async completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<BlobInfo> {
    const dir = await this.openUpload(key, uploadId);
    const { meta } = JSON.parse(await readFile(join(dir, 'upload.json'), 'utf8')) as { meta: BlobPutMeta };
    const have = new Set(await readdir(dir));
    const missing = parts
      .filter((p) => !have.has(`${p.partNumber}~${unquote(p.etag)}`))
      .map((p) => p.partNumber);
    if (missing.length > 0) {
      throw new ShutterError('part_missing', `parts ${missing.join(', ')} are not stored with those ETags`, {
        details: { missing },
      });
    }
    if (parts.length === 0 || parts.some((p, i) => i > 0 && p.partNumber <= parts[i - 1]!.partNumber)) {
      throw new ShutterError('bad_request', 'parts must be listed in ascending order without repeats');
    }
    const files = parts.map((p) => join(dir, `${p.partNumber}~${unquote(p.etag)}`));
    const t = await this.files.writeTemp(concat(files));
    // S3's multipart ETag: MD5 of the parts' binary MD5s, then "-<count>".
    const md5s = Buffer.concat(parts.map((p) => Buffer.from(unquote(p.etag), 'hex')));
    const etag = `${createHash('md5').update(md5s).digest('hex')}-${parts.length}`;
    const info = await this.commit(key, t.path, t.size, etag, meta);
    await rm(dir, { recursive: true, force: true });
    return info;
  }

  async abortMultipart(_key: string, uploadId: string): Promise<void> {
    if (!UPLOAD_ID.test(uploadId)) return;
    await this.init();
    await rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }

  /** Verifies a presigned request's query (see `UrlSigner.verify`). */
  verify(method: 'PUT' | 'GET', key: string, query: URLSearchParams): SignedGrant {
    return this.signer.verify(method, key, query, this.now());
  }

  private async commit(
    key: string,
    tempPath: string,
    size: number,
    md5: string,
    meta: BlobPutMeta,
  ): Promise<BlobInfo> {
    const m: ObjectMeta = {
      key,
      size,
      etag: md5,
      contentType: meta.contentType,
      lastModified: this.now(),
      file: `${key.split('/').pop()}~${md5}`,
    };
    if (meta.cacheControl !== undefined) m.cacheControl = meta.cacheControl;
    await this.files.commit(tempPath, m);
    return toInfo(m);
  }

  private async openUpload(key: string, uploadId: string): Promise<string> {
    assertKey(key);
    await this.init();
    const dir = this.uploadDir(uploadId);
    if (UPLOAD_ID.test(uploadId)) {
      try {
        const { key: k } = JSON.parse(await readFile(join(dir, 'upload.json'), 'utf8')) as { key: string };
        if (k === key) return dir;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    throw new ShutterError('not_found', `no multipart upload ${uploadId} for ${key}`);
  }

  private uploadDir(uploadId: string): string {
    return join(this.files.multipart, uploadId);
  }

  /**
   * Whole unix seconds, rounded up: a URL lives at least `seconds` (rounding
   * down gave a 1-second URL minted at x.9 s a tenth of a second).
   */
  private expiry(seconds: number): number {
    return Math.ceil(this.now() / 1000) + seconds;
  }

  private url(key: string, query: string): string {
    return `${this.opts.publicUrl?.replace(/\/$/, '') ?? ''}${this.mountPath}/${key}?${query}`;
  }
}

async function* concat(files: readonly string[]): AsyncGenerator<Uint8Array> {
  for (const f of files) {
    const fh = await open(f, 'r');
    yield* fh.createReadStream();
  }
}

function unquote(etag: string): string {
  return etag.replace(/"/g, '');
}

function toInfo(m: ObjectMeta): BlobInfo {
  const info: BlobInfo = {
    key: m.key,
    size: m.size,
    etag: m.etag,
    contentType: m.contentType,
    lastModified: new Date(m.lastModified),
  };
  if (m.cacheControl !== undefined) info.cacheControl = m.cacheControl;
  return info;
}
