import type { FetchLike } from '../upload-http.js';

interface FakeUpload {
  id: string;
  size: number;
  contentType: string;
  mode: 'single' | 'multipart';
  status: 'pending' | 'completed' | 'aborted';
  partSize: number;
  partCount: number;
  parts: Map<number, { etag: string; size: number }>;
  /** Bytes the store holds at a single upload's URL; null: nothing PUT yet. */
  stored: number | null;
}

export interface Logged {
  method: string;
  url: string;
  /** `/v1/…` for API calls, `store:<id>/<n>` for presigned PUTs (n = 0 for a single PUT). */
  what: string;
  headers: Record<string, string>;
  bodySize: number;
}

type Failure = 'network' | { status: number; code?: string };

const STORE = 'https://store.test/';
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const error = (status: number, code: string, details?: unknown) =>
  json(status, { error: { code, message: code, ...(details ? { details } : {}) } });

/**
 * An in-memory upload API and object store behind a fake `fetch`, shaped
 * like docs/media.md: deterministic failures per part, parts held until
 * released (to pause mid-way), and a log of every request.
 */
export class FakeUploadServer {
  readonly log: Logged[] = [];
  readonly uploads = new Map<string, FakeUpload>();
  partSize = 10;
  singlePutMax = 25;
  /** The next create answers this error instead. */
  createError: Response | undefined;
  /** False: status leaves out `received`, as a server that could not ask its store. */
  reportsReceived = true;
  /** Part PUTs in flight right now, and the most ever at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** Calls of getToken. */
  tokens = 0;
  readonly #failures = new Map<number, Failure[]>();
  readonly #held = new Map<number, Array<() => void>>();
  readonly #holding = new Set<number>();
  #next = 1;

  readonly getToken = async (): Promise<string> => `tok-${++this.tokens}`;

  /** The next `times` PUTs of part `n` (0 = the single PUT) fail this way. */
  failPart(n: number, times: number, how: Failure = 'network'): void {
    this.#failures.set(n, [...(this.#failures.get(n) ?? []), ...Array<Failure>(times).fill(how)]);
  }

  /** PUTs of part `n` wait until `release(n)` (or their abort). */
  hold(n: number): void {
    this.#holding.add(n);
  }

  release(n: number): void {
    this.#holding.delete(n);
    for (const go of this.#held.get(n)?.splice(0) ?? []) go();
  }

  puts(): string[] {
    return this.log.filter((l) => l.what.startsWith('store:')).map((l) => l.what);
  }

  /** An upload as if created (and partly sent) by an earlier run of the app. */
  seed(size: number, recorded: number[]): string {
    const u = this.#create(size, 'image/jpeg', 'multipart');
    for (const n of recorded) u.parts.set(n, { etag: `e-${u.id}-${n}`, size: this.#partLength(u, n) });
    return u.id;
  }

  /** A single-PUT upload created by an earlier run, with `stored` bytes already at its URL (null: none). */
  seedSingle(size: number, stored: number | null): string {
    const u = this.#create(size, 'image/jpeg', 'single');
    u.stored = stored;
    return u.id;
  }

  readonly fetch: FetchLike = async (url, init) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const body = init.body;
    const bodySize =
      body instanceof Blob
        ? body.size
        : body instanceof Uint8Array
          ? body.byteLength
          : String(body ?? '').length;
    const method = init.method ?? 'GET';
    const what = url.startsWith(STORE) ? `store:${url.slice(STORE.length)}` : new URL(url).pathname;
    this.log.push({ method, url, what, headers, bodySize });
    if (init.signal?.aborted) throw init.signal.reason;
    if (url.startsWith(STORE)) return this.#storePut(url, bodySize, init.signal ?? undefined);
    if (headers.authorization !== `Bearer tok-${this.tokens}`) return error(401, 'token_expired');
    return this.#api(method, what, typeof body === 'string' ? JSON.parse(body) : {});
  };

  #create(size: number, contentType: string, mode: 'single' | 'multipart'): FakeUpload {
    const id = `up_${this.#next++}`;
    const partCount = mode === 'multipart' ? Math.ceil(size / this.partSize) : 0;
    const u: FakeUpload = {
      ...{ id, size, contentType, mode, status: 'pending', partSize: this.partSize, partCount },
      ...{ parts: new Map(), stored: null },
    };
    this.uploads.set(id, u);
    return u;
  }

  #partLength(u: FakeUpload, n: number): number {
    return n === u.partCount ? u.size - (n - 1) * u.partSize : u.partSize;
  }

  #view(u: FakeUpload) {
    const base = { uploadId: u.id, mode: u.mode, status: u.status, size: u.size, contentType: u.contentType };
    if (u.mode === 'single') {
      const single = { ...base, expiresAt: '2030-01-01T00:00:00.000Z' };
      if (u.status !== 'pending' || !this.reportsReceived) return single;
      return { ...single, received: u.stored === null ? null : { size: u.stored } };
    }
    const parts = [...u.parts].map(([partNumber, p]) => ({ partNumber, ...p }));
    return { ...base, partSize: u.partSize, partCount: u.partCount, parts, missing: this.#missing(u) };
  }

  #missing(u: FakeUpload): number[] {
    return Array.from({ length: u.partCount }, (_, i) => i + 1).filter((n) => !u.parts.has(n));
  }

  #url(u: FakeUpload, n: number) {
    const length = u.mode === 'single' ? u.size : this.#partLength(u, n);
    const headers: Record<string, string> = { 'content-length': String(length) };
    if (u.mode === 'single') headers['content-type'] = u.contentType;
    return { method: 'PUT', url: `${STORE}${u.id}/${n}`, headers, expiresAt: Date.now() + 900_000 };
  }

  #api(method: string, path: string, body: Record<string, unknown>): Response {
    const m = /^\/v1\/uploads(?:\/([^/]+))?(?:\/(complete|parts\/urls|parts\/(\d+)))?$/.exec(path);
    if (!m) return error(404, 'not_found');
    const [, id, action, part] = m;
    if (method === 'POST' && !id) {
      const refused = this.createError;
      this.createError = undefined;
      if (refused) return refused;
      const size = body.size as number;
      const mode =
        (body.mode as 'single' | 'multipart' | undefined) ??
        (size <= this.singlePutMax ? 'single' : 'multipart');
      const u = this.#create(size, body.contentType as string, mode);
      return json(
        201,
        mode === 'single' ? { upload: this.#view(u), put: this.#url(u, 0) } : { upload: this.#view(u) },
      );
    }
    const u = this.uploads.get(id ?? '');
    if (!u) return error(404, 'upload_not_found');
    if (method === 'DELETE') {
      u.status = 'aborted';
      return json(200, this.#view(u));
    }
    if (method === 'GET' && !action) return json(200, this.#view(u));
    if (u.status === 'aborted') return error(410, 'upload_expired');
    if (action === 'parts/urls') {
      const wanted = body.parts as number[];
      return json(200, {
        parts: wanted.map((n) => ({ partNumber: n, ...this.#url(u, u.mode === 'single' ? 0 : n) })),
      });
    }
    if (part !== undefined) {
      const n = Number(part);
      if (body.etag !== `"e-${u.id}-${n}"`) return error(400, 'bad_request');
      const size = this.#partLength(u, n);
      u.parts.set(n, { etag: `e-${u.id}-${n}`, size });
      return json(200, { partNumber: n, etag: `e-${u.id}-${n}`, size });
    }
    if (action === 'complete') {
      if (u.mode === 'single' && u.stored === null) return error(409, 'part_missing', { missing: [1] });
      if (u.mode === 'single' && u.stored !== u.size) {
        const received = u.stored;
        u.stored = null; // as the server: the wrong object is deleted, the upload stays pending
        return error(400, 'size_mismatch', { expected: u.size, received });
      }
      const missing = this.#missing(u);
      if (missing.length > 0) return error(409, 'part_missing', { missing });
      u.status = 'completed';
      return json(200, { upload: this.#view(u), media: { mediaId: `m_${u.id}`, status: 'processing' } });
    }
    return error(404, 'not_found');
  }

  async #storePut(url: string, bodySize: number, signal: AbortSignal | undefined): Promise<Response> {
    const [id = '', nText = ''] = url.slice(STORE.length).split('/');
    const n = Number(nText);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.#holding.has(n)) {
        await new Promise<void>((resolve, reject) => {
          const list = this.#held.get(n) ?? [];
          list.push(resolve);
          this.#held.set(n, list);
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      }
      const failure = this.#failures.get(n)?.shift();
      if (failure === 'network') throw new TypeError('fetch failed');
      if (failure)
        return failure.code
          ? error(failure.status, failure.code)
          : new Response('<Error/>', { status: failure.status });
      const u = this.uploads.get(id);
      if (!u) return new Response('', { status: 404 });
      const expected = u.mode === 'single' ? u.size : this.#partLength(u, n);
      if (bodySize !== expected) return error(400, 'size_mismatch');
      if (u.mode === 'single') u.stored = bodySize;
      return new Response(null, { status: 200, headers: { etag: `"e-${id}-${n}"` } });
    } finally {
      this.inFlight--;
    }
  }
}
