import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type NatsConnection, connect as natsConnect } from '@nats-io/transport-node';
import {
  ActorSystem,
  type Bus,
  ClusterNode,
  CounterActor,
  MemoryBus,
  SingleNodePlacement,
} from '@shutter/actors';
import { hardenMsgpackDecoding } from '@shutter/protocol';
import { timeBusRequests } from './adapters/bus-timing.js';
import { LocalBlobStore } from './adapters/local-blob-store.js';
import { NatsBus } from './adapters/nats-bus.js';
import { NatsJobQueue } from './adapters/nats-job-queue.js';
import { NatsShardMapStore } from './adapters/nats-shard-map.js';
import { S3BlobStore } from './adapters/s3-blob-store.js';
import { jobQueueMigrations, SqlJobQueue } from './adapters/sql-job-queue.js';
import { SqlStateStore, stateStoreMigrations } from './adapters/sql-state-store.js';
import { bearerAuthenticator } from './auth/bearer.js';
import { devSecret, HsMinter, JwtVerifier, type TokenMinter } from './auth/tokens.js';
import type { BlobStore } from './blobs/blob-store.js';
import { DomainEvents } from './capabilities/events.js';
import { mountOperationRoutes } from './capabilities/http-routes.js';
import { MemoryIdempotencyStore } from './capabilities/idempotency.js';
import { capabilities } from './capabilities/index.js';
import { mountOpenApi } from './capabilities/openapi.js';
import type { CapabilityPorts } from './capabilities/operation.js';
import { PRESENCE_GAUGES, presenceStats } from './capabilities/presence/index.js';
import { OperationRateLimits, unavailableBuckets } from './capabilities/rate-limits.js';
import { OperationRegistry } from './capabilities/registry.js';
import { streamHistories } from './capabilities/stream-rules.js';
import type { Config } from './config/index.js';
import { defaultAuthorizer, type SubscribeAuthorizer } from './gateway/authorize.js';
import type { WsEngine } from './gateway/engine.js';
import { Gateway, type SessionListener } from './gateway/gateway.js';
import { UwsEngineImpl } from './gateway/uws-engine.js';
import { WsEngineImpl } from './gateway/ws-engine.js';
import { mountCoreRoutes } from './http/core-routes.js';
import { withCors } from './http/cors.js';
import { httpFront } from './http/http-front.js';
import { announceOperatorAccess, mountMetrics } from './http/operator-access.js';
import { HttpRouter } from './http/router.js';
import type { JobQueue, JobQueueOptions } from './jobs/index.js';
import { TrustedProxies } from './limits/client-address.js';
import { actorErrorKey, createLogger, DedupLog, type Logger } from './log.js';
import { mountRoutes, type RouteSpec } from './media/routes.js';
import { createMediaRoutes } from './media/serve/media-routes.js';
import { startMedia } from './media/start-media.js';
import { flatNumbers, Metrics } from './metrics.js';
import { openPush } from './node-push.js';
import { openCacheStores } from './node-stores.js';
import { migrate, PgliteSql, PgSql, type Sql } from './sql/index.js';
import { Databases } from './storage/databases.js';
import { parseShardRanges } from './storage/shard-ranges.js';
import { StreamHub } from './streams/stream-hub.js';

export interface ShutterNode {
  readonly config: Config;
  readonly port: number;
  readonly url: string;
  readonly log: Logger;
  readonly gateway: Gateway;
  readonly hub: StreamHub;
  readonly metrics: Metrics;
  readonly actors: ActorSystem;
  /** The home database (logical shard 0's: actor state, queues, media). */
  readonly sql: Sql;
  /** Every database, by logical shard. */
  readonly db: Databases;
  /** What every capability's operations use (domain events, media, blobs…): for tests and harnesses. */
  readonly ports: CapabilityPorts;
  /** Present with CLUSTER=true. */
  readonly cluster: ClusterNode | undefined;
  /** Mints tokens when development tokens are on. */
  readonly minter: TokenMinter | undefined;
  /**
   * Graceful: stop admitting, tell clients to go elsewhere, release services.
   * With `readyDelayMs` (SHUTDOWN_DELAY_MS, from a signal) the node first keeps
   * serving that long while `/readyz` and new upgrades answer 503.
   */
  shutdown(options?: { readyDelayMs?: number }): Promise<void>;
}

export interface NodeOptions {
  logger?: Logger;
  authorize?: SubscribeAuthorizer;
}

type Closer = () => Promise<void>;

/**
 * The composition root of one node: the only place that knows which
 * adapter stands behind each port (bus, relational store, actor state and
 * placement, stream history, object store, job queues, token verifier).
 * Embedded defaults for every empty setting. A start that fails half-way
 * closes what it had opened, in reverse, before the error propagates.
 */
export async function startNode(config: Config, options: NodeOptions = {}): Promise<ShutterNode> {
  hardenMsgpackDecoding();
  const log = options.logger ?? createLogger(config.services.logLevel, config.gateway.nodeId);
  /** Everything opened so far, in order: what a failed start closes, in reverse. */
  const opened: Closer[] = [];
  try {
    return await assemble(config, log, options, opened);
  } catch (err) {
    log.error({ err }, 'start failed; closing what was opened');
    for (const close of opened.reverse())
      await close().catch((e: unknown) => log.warn({ err: e }, 'close after a failed start failed'));
    throw err;
  }
}

async function assemble(
  config: Config,
  log: Logger,
  options: NodeOptions,
  opened: Closer[],
): Promise<ShutterNode> {
  const g = config.gateway;
  const s = config.services;
  /** Services closed at shutdown, in reverse, after the gateway and the actors stopped. */
  const closers: Closer[] = [];
  const own = (close: Closer) => {
    closers.push(close);
    opened.push(close);
  };

  let nc: NatsConnection | undefined;
  if (s.natsUrl) {
    nc = await natsConnect({
      servers: s.natsUrl,
      name: g.nodeId,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  }
  const bus: Bus = nc ? new NatsBus(nc, s.namespace) : new MemoryBus();
  own(() => bus.close());

  const db = await openDatabases(config, own);
  const sql = db.home;
  await migrate(sql, [...stateStoreMigrations]);

  const { streamLog, feeds, limiter, presence, locations, trending, explore } = await openCacheStores(
    config,
    own,
    streamHistories(capabilities),
  );
  const proxies = new TrustedProxies(config.limits.trustedProxies);

  let engine: WsEngine | undefined;
  const hub = new StreamHub(bus, streamLog, { publish: (t, f) => engine?.publish(t, f) }, g.historySize, {
    // Refreshed well inside the TTL, so a quiet stream with subscribers keeps its epoch.
    keepAliveMs: Math.max(250, Math.min(60_000, (g.historyTtlSeconds * 1000) / 3)),
    onError: (err, stream) => log.warn({ err, stream }, 'stream catch-up from the history failed'),
  });
  own(async () => hub.close());

  const a = config.auth;
  const secret = a.jwtSecret
    ? new TextEncoder().encode(a.jwtSecret)
    : a.jwtPublicKey
      ? undefined
      : devSecret(s.dataDir);
  const verifier = new JwtVerifier({
    ...(secret ? { secret } : {}),
    ...(a.jwtPublicKey ? { publicKeyPem: a.jwtPublicKey } : {}),
    ...(a.issuer ? { issuer: a.issuer } : {}),
    audience: a.audience,
  });
  const minter =
    a.devTokens && secret ? new HsMinter(secret, a.issuer || undefined, a.audience[0]) : undefined;

  const metrics = new Metrics(g.nodeId);
  const router = new HttpRouter(log, g.exposeErrors);

  // The object store and the work queues: general ports the media path is the first user of.
  const blobs = openBlobStore(config);
  mountRoutes(router, blobs.routes);
  if (!nc) await migrate(sql, jobQueueMigrations);
  const openQueue = <P>(name: string, options: Partial<JobQueueOptions>): Promise<JobQueue<P>> =>
    nc
      ? NatsJobQueue.open<P>(nc, `${s.namespace}_${name}`, options)
      : Promise.resolve(new SqlJobQueue<P>(sql, name, options));
  const media = await startMedia({
    config,
    sql,
    blobs: blobs.store,
    openQueue,
    publisher: hub,
    verifier,
    router,
    log,
    registry: metrics.registry,
  });
  own(() => media.stop());

  const c = config.actors;
  let cluster: ClusterNode | undefined;
  if (s.cluster && nc) {
    cluster = new ClusterNode({
      nodeId: `${g.nodeId}-${randomBytes(2).toString('hex')}`,
      store: await NatsShardMapStore.open(nc, `${s.namespace}_shards`),
      bus,
      subjectPrefix: 'actors',
      shardCount: c.shardCount,
      heartbeatMs: c.heartbeatMs,
      leaseMs: c.leaseMs,
      handoffTimeoutMs: c.handoffTimeoutMs,
      log: (event, fields) => log.info({ ...fields, event }, `cluster ${event}`),
    });
  } else if (s.databaseUrl) {
    // Nothing stops a second node on the same database from activating the
    // same actors: their writes stay correct (versions), single activation does not.
    log.warn(
      'CLUSTER is off: this node hosts every actor itself. Run one such node per DATABASE_URL, or set CLUSTER=true to share the actors between nodes.',
    );
  }
  const actorLog = new DedupLog(log);
  const actors = new ActorSystem({
    store: new SqlStateStore(sql),
    placement: cluster ?? new SingleNodePlacement(c.shardCount),
    idleMs: c.idleMs,
    defaultDeadlineMs: c.askTimeoutMs,
    idempotency: { windowMs: c.idempotencyWindowSeconds * 1000 },
    // Identical failures (a request retried many times a second) log once per window, counted.
    onError: (err, ctx) => actorLog.error(actorErrorKey(err, ctx), { err, ...ctx }, 'actor error'),
  }).register(CounterActor);
  opened.push(() => actors.stop());

  const push = openPush(config, db, log, { router, metrics });
  // What every capability may use; its tables on every database, its actors on every node.
  const ports: CapabilityPorts = {
    nodeId: g.nodeId,
    actors,
    log,
    askTimeoutMs: c.askTimeoutMs,
    now: Date.now,
    config,
    db,
    streams: hub,
    openQueue,
    media: media.service,
    blobs: blobs.store,
    events: new DomainEvents(),
    feeds,
    locations,
    limiter,
    trending,
    explore,
    // Accounts mint access tokens with the key the gateway verifies; a public key alone: verify only.
    tokens: secret ? new HsMinter(secret, a.issuer || undefined, a.audience[0]) : undefined,
    userDeleted: (userId) => operations.userDeleted(userId),
    push: push.outbox,
    bus,
    presence,
  };
  await db.migrate(capabilities.flatMap((cap) => cap.migrations ?? []));
  for (const cap of capabilities) for (const type of cap.actors?.(ports) ?? []) actors.register(type);
  if (cluster) {
    const cl = cluster;
    opened.push(() => cl.stop());
    await cl.start(actors);
  }

  const buckets = unavailableBuckets(log, config.limits.timeoutMs);
  const operations = new OperationRegistry(capabilities, {
    ports,
    // Same-node retries and the `conflict` check; the actors' key table is what lasts the window.
    idempotency: new MemoryIdempotencyStore(Math.min(10 * 60_000, c.idempotencyWindowSeconds * 1000)),
    checkResults: s.env !== 'production',
    limits: new OperationRateLimits(limiter, config.limits.rateLimits, buckets),
  });
  const gateway = new Gateway({
    limits: g,
    nodeId: g.nodeId,
    verifier,
    hub,
    operations,
    authorize: options.authorize ?? operations.authorizer(defaultAuthorizer),
    sessions: sessionEvents(ports),
    log,
    clientAddress: (peer, forwardedFor) => proxies.clientAddress(peer, forwardedFor),
  });

  timeBusRequests(bus, metrics.registry);
  metrics.addSource(
    'gateway',
    'WebSocket gateway',
    () => ({
      ...gateway.counters,
      connections: gateway.connectionCount,
    }),
    ['connections'],
  );
  metrics.addSource('streams', 'Stream fan-out on this node', () => hub.stats, ['streams']);
  metrics.addSource('rate_limit', 'Rate-limit buckets that did not answer', () => buckets.stats);
  metrics.addSource('presence', 'Presence on this node', () => presenceStats(ports), PRESENCE_GAUGES);
  metrics.addSource('actors', 'Actor runtime', () => flatNumbers(actors.stats()), [
    'activations',
    'mailboxDepth',
    'turnTimeMeanMs',
    'turnTimeMaxMs',
    'turnTimeP50Ms',
    'turnTimeP99Ms',
  ]);
  if (cluster) {
    const cl = cluster;
    metrics.addSource('cluster', 'Actor cluster', () => flatNumbers(cl.stats()), [
      'ownedShards',
      'assignedShards',
      'members',
    ]);
  }

  let ready = false;
  const metricsEndpoint = await mountMetrics(router, metrics, config, log);
  own(() => metricsEndpoint.close());
  mountCoreRoutes(router, {
    isReady: () => ready,
    minter,
    publisher: hub,
    admin: a,
    nodeId: g.nodeId,
  });
  // Every operation of every capability on HTTP too, and the document that describes them.
  mountOperationRoutes(router, operations, {
    authenticate: bearerAuthenticator(verifier),
    maxBodyBytes: g.maxFrameBytes,
    takeUserToken: (userId) => gateway.takeUserToken(userId),
    clientAddress: (req) => proxies.clientAddress(req.remoteAddress, req.headers['x-forwarded-for']),
  });
  mountOpenApi(router, operations);

  // Background work of the capabilities (queue consumers…), once everything they use is up.
  for (const cap of capabilities) {
    const started = await cap.start?.(ports);
    if (started) own(() => started.stop());
  }
  own(push.start());

  const limits = {
    // Engines cut far-oversized frames themselves (1009); between the documented
    // limit and this cap the gateway answers frame_too_large (4413).
    maxPayloadBytes: g.maxFrameBytes * 2,
    maxBackpressureBytes: g.sendBufferBytes,
    maxHeaderBytes: g.maxHeaderBytes,
    maxHeaders: g.maxHeaders,
    upgradeTimeoutMs: g.upgradeTimeoutMs,
    bodyTimeoutMs: g.httpBodyTimeoutMs,
    sendTimeoutMs: g.httpSendTimeoutMs,
  };
  const hooks = gateway.hooks(
    httpFront(
      withCors(g.origins, (req, res) => router.handle(req, res)),
      { maxInFlight: g.maxHttpRequests, accessLog: g.accessLog, log, registry: metrics.registry },
    ),
  );
  engine = g.transport === 'uws' ? new UwsEngineImpl(hooks, limits) : new WsEngineImpl(hooks, limits);
  gateway.start(engine);
  opened.push(() => gateway.close());
  const port = await engine.listen(g.host, g.port);
  ready = true;
  const host = g.host === '0.0.0.0' || g.host === '::' ? '127.0.0.1' : g.host;
  log.info(
    {
      port,
      transport: engine.name,
      bus: s.natsUrl ? 'nats' : 'memory',
      history: s.redisUrl ? 'redis' : 'memory',
    },
    'node started',
  );
  announceOperatorAccess(log, config, metricsEndpoint, port);

  let shuttingDown: Promise<void> | undefined;
  return {
    config,
    port,
    url: `http://${host}:${port}`,
    log,
    gateway,
    hub,
    metrics,
    minter,
    actors,
    sql,
    db,
    ports,
    cluster,
    shutdown(options = {}) {
      shuttingDown ??= (async () => {
        ready = false;
        const delay = options.readyDelayMs ?? 0;
        if (delay > 0) {
          // Still listening and serving: /readyz and new upgrades answer 503 so load
          // balancers take the node out before it stops accepting connections.
          gateway.stopAdmitting();
          log.info({ delayMs: delay }, 'not ready; draining after the delay');
          await new Promise((r) => setTimeout(r, delay));
        }
        // Stop admitting, hand shards off while the bus still works, then send clients elsewhere.
        engine?.stopListening();
        // SHUTDOWN_GRACE_MS bounds the hand-off; shards still owned after it are left to lease expiry.
        if (cluster)
          await cluster
            .drain(config.gateway.drainMs)
            .catch((err: unknown) => log.warn({ err }, 'drain failed'));
        await gateway.close();
        await actors.stop();
        if (cluster) await cluster.stop();
        for (const c of closers.reverse())
          await c().catch((err: unknown) => log.warn({ err }, 'close failed'));
        log.info('node stopped');
      })();
      return shuttingDown;
    },
  };
}

/**
 * The object store the configuration names: S3 (or compatible) when
 * S3_ENDPOINT is set, otherwise a directory under DATA_DIR/media that this
 * node serves itself (`routes`: signed GET/PUT under /media/…).
 */
function openBlobStore(config: Config): { store: BlobStore; routes: RouteSpec[] } {
  const m = config.media;
  if (m.s3Endpoint) {
    const store = new S3BlobStore({
      bucket: m.s3Bucket,
      endpoint: m.s3Endpoint,
      region: m.s3Region,
      forcePathStyle: m.s3ForcePathStyle,
      ...(m.s3AccessKeyId
        ? { credentials: { accessKeyId: m.s3AccessKeyId, secretAccessKey: m.s3SecretAccessKey } }
        : {}),
    });
    return { store, routes: [] };
  }
  const store = new LocalBlobStore({
    root: join(config.services.dataDir, 'media'),
    // Without a configured secret, URLs die with the process: fine for the
    // embedded single node, which is the only user of the local store.
    signingSecret: m.signingSecret || randomBytes(32),
    ...(m.publicUrl ? { publicUrl: m.publicUrl } : {}),
  });
  return { store, routes: createMediaRoutes({ store }) };
}

/**
 * The relational store: the databases DATABASE_SHARDS names (one `Sql` per
 * distinct URL, each logical shard mapped to its range's), or every shard in
 * DATABASE_URL, or in an embedded PGlite under DATA_DIR. Each opened
 * database is handed to `own` to be closed.
 */
async function openDatabases(config: Config, own: (close: Closer) => void): Promise<Databases> {
  const s = config.services;
  const open = async (url: string): Promise<Sql> => {
    const pg = new PgSql(url, s.namespace);
    own(() => pg.close());
    await pg.ensureSchema();
    return pg;
  };
  if (s.databaseShards) {
    const { ranges } = parseShardRanges(s.databaseShards);
    const byUrl = new Map<string, Sql>();
    const map: Sql[] = [];
    for (const r of ranges) {
      let sql = byUrl.get(r.url);
      if (!sql) byUrl.set(r.url, (sql = await open(r.url)));
      for (let shard = r.from; shard <= r.to; shard++) map[shard] = sql;
    }
    return new Databases(map);
  }
  if (s.databaseUrl) return Databases.single(await open(s.databaseUrl));
  const lite = await PgliteSql.open(join(s.dataDir, 'pglite'), s.namespace);
  own(() => lite.close());
  return Databases.single(lite);
}

/**
 * The gateway's sessions as domain events (`session.opened`/`closed`, the
 * session named across the cluster as `<node id>/<session>`), emitted
 * without waiting: a failing handler is logged.
 */
function sessionEvents(ports: CapabilityPorts): SessionListener {
  const emit = (type: 'session.opened' | 'session.closed', userId: string, session: string) =>
    ports.events
      .emit({ type, userId, session: `${ports.nodeId}/${session}` })
      .catch((err: unknown) => ports.log.error({ err, user: userId }, `a ${type} handler failed`));
  return {
    opened: (userId, session) => void emit('session.opened', userId, session),
    closed: (userId, session) => void emit('session.closed', userId, session),
  };
}
