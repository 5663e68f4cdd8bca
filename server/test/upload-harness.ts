import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ShutterError } from '@shutter/protocol';
import { LocalBlobStore } from '../src/adapters/local-blob-store.js';
import type { BlobStore } from '../src/blobs/blob-store.js';
import { mediaSettings } from '../src/config/media.js';
import { parseSettings } from '../src/config/settings.js';
import { nodeHttpHandler } from '../src/http/node-http.js';
import { HttpRouter } from '../src/http/router.js';
import type { HttpRequest } from '../src/http/types.js';
import { silentLogger } from '../src/log.js';
import type { MediaIngest } from '../src/media/ingest.js';
import { mountRoutes } from '../src/media/routes.js';
import { createMediaRoutes } from '../src/media/serve/media-routes.js';
import {
  createUploadRoutes,
  type UploadLimits,
  type UploadRoutes,
  uploadMigrations,
} from '../src/media/uploads/index.js';
import { migrate, PgSql, type Sql } from '../src/sql/index.js';
import { postgresUrl, uniqueName } from './services.js';

type IngestInput = Parameters<MediaIngest['ingest']>[0];

type MediaState = NonNullable<Awaited<ReturnType<MediaIngest['mediaState']>>>;

/**
 * An in-memory MediaIngest: records what it was given, answers `processing`;
 * `states` overrides what `mediaState` answers for a media id.
 */
export class FakeIngest implements MediaIngest {
  readonly calls: IngestInput[] = [];
  readonly states = new Map<string, MediaState>();
  async ingest(input: IngestInput) {
    this.calls.push(input);
    return { mediaId: `m_${this.calls.length}`, status: 'processing' as const };
  }
  async mediaState(mediaId: string): Promise<MediaState | undefined> {
    const set = this.states.get(mediaId);
    if (set) return set;
    const n = Number(mediaId.slice(2));
    const call = Number.isInteger(n) && n >= 1 ? this.calls[n - 1] : undefined;
    return call && { status: 'processing' as const, originalKey: call.objectKey };
  }
}

/** Test auth: `Authorization: Bearer <userId>`. The gateway wires the real JWT verifier. */
export async function fakeAuthenticate(req: HttpRequest): Promise<{ userId: string }> {
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (!m?.[1]) throw new ShutterError('auth_failed', 'missing bearer token');
  return { userId: m[1] };
}

/** One schema per run in the test Postgres, with the upload tables; dropped by `drop()`. */
export async function uploadSchema(): Promise<{ sql: Sql; drop(): Promise<void> }> {
  const schema = uniqueName('uploads');
  const sql = new PgSql(postgresUrl, schema, 4);
  await sql.ensureSchema();
  await migrate(sql, uploadMigrations);
  return {
    sql,
    async drop() {
      await sql.close();
      const admin = new PgSql(postgresUrl, 'public', 1);
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.close();
    },
  };
}

export interface UploadNode {
  origin: string;
  ingest: FakeIngest;
  uploads: UploadRoutes;
  close(): Promise<void>;
}

/** A real node:http server on 127.0.0.1:0 serving the upload routes from HttpRouter + nodeHttpHandler. */
export async function startUploadNode(opts: {
  sql: Sql;
  store: BlobStore;
  limits?: Partial<UploadLimits>;
  now?: () => number;
}): Promise<UploadNode> {
  const media = parseSettings(mediaSettings, {}).values;
  const ingest = new FakeIngest();
  const log = silentLogger();
  const uploads = createUploadRoutes({
    sql: opts.sql,
    store: opts.store,
    ingest,
    log,
    media,
    authenticate: fakeAuthenticate,
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const router = new HttpRouter(log, true);
  uploads.mount(router);
  // A local store is served by this process (node.ts does the same when it chooses one).
  if (opts.store instanceof LocalBlobStore) mountRoutes(router, createMediaRoutes({ store: opts.store }));
  const server: Server = createServer(nodeHttpHandler((req, res) => router.handle(req, res)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ingest,
    uploads,
    async close() {
      await uploads.sweeper.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A small JSON client of the upload API, as user `userId`. */
export function client(origin: string, userId: string) {
  const auth = { authorization: `Bearer ${userId}` };
  return {
    async call<T = Record<string, unknown>>(
      method: string,
      path: string,
      body?: unknown,
    ): Promise<{ status: number; body: T; headers: Headers }> {
      const init: RequestInit = { method, headers: { ...auth, 'content-type': 'application/json' } };
      if (body !== undefined) init.body = JSON.stringify(body);
      const r = await fetch(origin + path, init);
      const text = await r.text();
      return { status: r.status, body: (text ? JSON.parse(text) : {}) as T, headers: r.headers };
    },
    async put(path: string, body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
      return fetch(origin + path, { method: 'PUT', headers: { ...auth, ...headers }, body });
    },
  };
}

export interface Recorded {
  method: string;
  ok: boolean;
  error?: unknown;
}

/** Wraps a store to record each call and its outcome (the real store still does the work). */
export function recording<T extends BlobStore>(store: T): { store: T; calls: Recorded[] } {
  const calls: Recorded[] = [];
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const out: unknown = v.apply(target, args);
        if (!(out instanceof Promise)) return out;
        return out.then(
          (x: unknown) => {
            calls.push({ method: String(prop), ok: true });
            return x;
          },
          (error: unknown) => {
            calls.push({ method: String(prop), ok: false, error });
            throw error;
          },
        );
      };
    },
  });
  return { store: proxy, calls };
}
