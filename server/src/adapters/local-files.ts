import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rmdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ByteMeter, type MeterLimits } from '../blobs/meter.js';

/** What the local store keeps beside each object (its commit point, see `ObjectFiles`). */
export interface ObjectMeta {
  key: string;
  size: number;
  etag: string;
  contentType: string;
  cacheControl?: string;
  lastModified: number;
  /** Name of the data file in the same directory. */
  file: string;
}

/**
 * The files of the local store. An object `a/b` is two files in `objects/a/`:
 * `b~` (JSON metadata) and `b~<etag>` (the bytes). `~` cannot occur in keys,
 * so `a` (file `a~`) and `a/b` (directory `a`) never collide. Writing the
 * metadata file (temp + rename) is the atomic commit: a reader sees the old
 * object or the new one, never a half-written one.
 */
export class ObjectFiles {
  readonly objects: string;
  readonly tmp: string;
  readonly multipart: string;

  constructor(readonly root: string) {
    this.objects = join(root, 'objects');
    this.tmp = join(root, 'tmp');
    this.multipart = join(root, 'multipart');
  }

  async init(): Promise<void> {
    await Promise.all([this.objects, this.tmp, this.multipart].map((d) => mkdir(d, { recursive: true })));
  }

  metaPath(key: string): string {
    return join(this.objects, ...key.split('/')) + '~';
  }

  dataPath(key: string, file: string): string {
    return join(dirname(this.metaPath(key)), file);
  }

  async readMeta(key: string): Promise<ObjectMeta | undefined> {
    try {
      return JSON.parse(await readFile(this.metaPath(key), 'utf8')) as ObjectMeta;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /**
   * Streams `body` into a temp file while computing its MD5; the caller
   * renames it into place. On any failure the temp file is gone.
   */
  async writeTemp(
    body: AsyncIterable<Uint8Array> | Uint8Array,
    limits: MeterLimits = {},
  ): Promise<{ path: string; size: number; md5: Buffer }> {
    const path = join(this.tmp, randomBytes(12).toString('hex'));
    const meter = new ByteMeter(['md5'], limits);
    try {
      await pipeline(meter.pipe(body), createWriteStream(path, { flags: 'wx' }));
      await fsyncFile(path);
    } catch (e) {
      await unlink(path).catch(() => {});
      throw e;
    }
    return { path, size: meter.bytes, md5: Buffer.from(meter.digest('md5'), 'hex') };
  }

  /** Moves a finished temp file into place as `key`'s data and commits `meta`; removes the replaced data file. */
  async commit(tempPath: string, meta: ObjectMeta): Promise<void> {
    const metaPath = this.metaPath(meta.key);
    await mkdir(dirname(metaPath), { recursive: true });
    const previous = await this.readMeta(meta.key);
    await rename(tempPath, this.dataPath(meta.key, meta.file));
    const metaTemp = join(this.tmp, randomBytes(12).toString('hex'));
    await writeFile(metaTemp, JSON.stringify(meta), { flag: 'wx' });
    await rename(metaTemp, metaPath);
    if (previous && previous.file !== meta.file)
      await unlink(this.dataPath(meta.key, previous.file)).catch(() => {});
  }

  async remove(key: string): Promise<void> {
    const meta = await this.readMeta(key);
    if (!meta) return;
    await unlink(this.metaPath(key)).catch(ignoreNotFound);
    await unlink(this.dataPath(key, meta.file)).catch(ignoreNotFound);
    await this.pruneDirs(dirname(this.metaPath(key)));
  }

  /** Removes empty directories from `dir` up to (not including) `objects/`. */
  private async pruneDirs(dir: string): Promise<void> {
    let d = dir;
    while (d.startsWith(this.objects + sep)) {
      try {
        await rmdir(d);
      } catch {
        return;
      }
      d = dirname(d);
    }
  }
}

async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export function ignoreNotFound(e: unknown): void {
  if (!isNotFound(e)) throw e;
}
