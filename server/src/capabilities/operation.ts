import type { ActorSystem, AnyActorType, Bus } from '@shutter/actors';
import {
  type MethodName,
  type MethodParams,
  type MethodResult,
  type MethodSchemas,
  Methods,
} from '@shutter/protocol';
import type { TokenMinter } from '../auth/tokens.js';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Config } from '../config/index.js';
import type { JobQueue, JobQueueOptions } from '../jobs/index.js';
import type { RateClass } from '../limits/rate-classes.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import type { Logger } from '../log.js';
import type { MediaService } from '../media/media-service.js';
import type { Migration } from '../sql/sql.js';
import type { Databases } from '../storage/databases.js';
import type { StreamBatchPublisher } from '../streams/publisher.js';
import type { DomainEvents } from './events.js';
import type { ExploreStore } from './explore/explore-store.js';
import type { FeedStore } from './feed/feed-store.js';
import type { LocationStore } from './nearby/location-store.js';
import type { PresenceStore } from './presence/presence-store.js';
import type { PushOutbox } from './push-outbox.js';
import type { TrendingStore } from './trending/trending-store.js';

/** Who may call an operation: any authenticated user, or anyone (HTTP without a token). */
export type OperationAuth = 'user' | 'none';

export type HttpVerb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The HTTP front door of an operation. `{name}` path segments are params of that name (strings). */
export interface HttpBinding {
  method: HttpVerb;
  /** OpenAPI template syntax: `/v1/counters/{counter}/increment`. */
  path: string;
  /** The status of a success (default 200; 201 for a create). */
  status?: 200 | 201;
}

/** The authenticated caller; `userId` is `''` for an `auth: 'none'` operation called without a token. */
export interface Caller {
  userId: string;
  /** The WebSocket session, when the call came over a socket. */
  session: string | undefined;
  /**
   * The client's network address, for per-address limits: the HTTP
   * request's or the socket's peer, or the address a trusted proxy named
   * (TRUSTED_PROXIES).
   */
  address?: string;
}

/**
 * What every operation may use: the node's ports. One object per node, made
 * in the composition root (`node.ts`); a capability that needs a new port
 * adds it here and node.ts passes it in.
 */
export interface CapabilityPorts {
  nodeId: string;
  actors: ActorSystem;
  log: Logger;
  /** Deadline of an actor ask (ASK_TIMEOUT_MS). */
  askTimeoutMs: number;
  now: () => number;
  /** The node's whole configuration (a capability reads its own section). */
  config: Config;
  /** The partitioned relational store: 1 024 logical shards on one or more databases. */
  db: Databases;
  /** Publishes events to streams (`user:<id>:feed`…): history, then every subscriber on every node. */
  streams: StreamBatchPublisher;
  /** Opens a named durable work queue (JetStream in a cluster, SQL otherwise). */
  openQueue: <P>(name: string, options: Partial<JobQueueOptions>) => Promise<JobQueue<P>>;
  /** Media items (status, owner, variants) from the media path. */
  media: MediaService;
  /** The object store (signed URLs of media variants). */
  blobs: BlobStore;
  /** Domain events between capabilities on this node (a follow, a post): see `events.ts`. */
  events: DomainEvents;
  /** Each reader's stored feed of post ids (Redis with REDIS_URL, else in memory): see `feed/feed-store.ts`. */
  feeds: FeedStore;
  /** Nearby friends' fixes by geohash cell (Redis with REDIS_URL, else in memory): see `nearby/location-store.ts`. */
  locations: LocationStore;
  /** The trending sets of posts and hashtags, shared by the cluster (Redis with REDIS_URL, else in memory). */
  trending: TrendingStore;
  /** Each explore user's recommendations and recently shown posts (Redis with REDIS_URL, else in memory). */
  explore: ExploreStore;
  /**
   * Mints the access tokens the gateway verifies (`sub` = user id), with the
   * node's signing key; undefined when the node only verifies tokens an
   * outside identity provider issues (AUTH_JWT_PUBLIC_KEY alone).
   */
  tokens: TokenMinter | undefined;
  /**
   * Token buckets shared by the cluster (Redis with REDIS_URL, else this
   * node's memory): the registry's per-class limits and the login limits.
   */
  limiter: RateLimiter;
  /** Durable pushes to users' devices (notifications not seen on a socket in time). */
  push: PushOutbox;
  /** The node's message bus (NATS in a cluster, in-process otherwise): for what a capability tells every node. */
  bus: Bus;
  /** Who is online on which node (Redis with REDIS_URL, else in memory): see `presence/presence-store.ts`. */
  presence: PresenceStore;
  /** Removes a deleted account's data: every capability's `onUserDeleted` (the registry's). */
  userDeleted: (userId: string) => Promise<void>;
}

/** What a handler knows about one call. */
export interface OperationContext extends CapabilityPorts {
  caller: Caller;
  /** The request's idempotency key (`ikey` on the socket, `Idempotency-Key` over HTTP), if sent. */
  idempotencyKey: string | undefined;
  /** Which front door the call came through. */
  via: 'ws' | 'http';
}

/**
 * A handler gets params already validated against the method's schema and
 * throws on failure: a `ShutterError` for a refusal the client should see,
 * anything else (an actor error included) for the edge (`toPublicError`) to
 * translate. It never catches to translate.
 */
export type OperationHandler<M extends MethodName> = (
  ctx: OperationContext,
  params: MethodParams<M>,
) => Promise<MethodResult<M>>;

export interface OperationSpec<M extends MethodName> {
  /** The wire method; its params/result schemas and idempotency come from the protocol (`Methods[method]`). */
  method: M;
  /** One line for the OpenAPI document. */
  summary: string;
  http: HttpBinding;
  auth: OperationAuth;
  /**
   * The rate class its calls take from (`limits/rate-classes.ts`,
   * RATE_LIMITS), per user, or per client address for `auth: 'none'`.
   * Default: `read` for a GET route, `write` for any other.
   */
  rate?: RateClass;
  handler: OperationHandler<M>;
}

/** An operation with its schemas attached, as the registry holds it. */
export interface Operation<M extends MethodName = MethodName> extends OperationSpec<M> {
  rate: RateClass;
  params: (typeof Methods)[M]['params'];
  result: (typeof Methods)[M]['result'];
  idempotent: boolean;
}

/**
 * Declares one operation. Its schemas are the protocol's (the SDK types its
 * calls from the same ones), so a capability never restates them.
 */
export function defineOperation<M extends MethodName>(spec: OperationSpec<M>): Operation<M> {
  const schemas: MethodSchemas = Methods[spec.method];
  return {
    ...spec,
    rate: spec.rate ?? (spec.http.method === 'GET' ? 'read' : 'write'),
    params: schemas.params as (typeof Methods)[M]['params'],
    result: schemas.result as (typeof Methods)[M]['result'],
    idempotent: schemas.idempotent,
  };
}

export interface Capability {
  /** The method prefix: every operation's method is `<name>.<verb>`. */
  name: string;
  /** One line for the OpenAPI document's tag. */
  description: string;
  operations: readonly AnyOperation[];
  /** Tables of this capability: applied to every database (each holds its logical shards' rows). */
  migrations?: readonly Migration[];
  /** Actor types of this capability, made with the node's ports; registered on every node before it joins. */
  actors?: (ports: CapabilityPorts) => readonly AnyActorType[];
  /**
   * Who may subscribe to streams of the kinds named here (`author` for
   * `author:<id>:posts`…), and whether under a lease (`post` for
   * `post:<id>`). A kind no capability names keeps the gateway's default
   * rule (`user:<id>:…` for that user alone; `topic:` and `photo:` public).
   */
  streams?: Record<string, StreamRule>;
  /** Background work of this capability (a queue consumer…), started once the node's ports are up. */
  start?: (ports: CapabilityPorts) => Promise<{ stop(): Promise<void> }>;
  /** Removes this capability's data of a deleted account, from every shard it touched. */
  onUserDeleted?: (ports: CapabilityPorts, userId: string) => Promise<void>;
}

/** Decides whether `userId` may subscribe to `stream` (checked on every `sub`). */
export type StreamAuthorizer = (
  ports: CapabilityPorts,
  userId: string,
  stream: string,
) => boolean | Promise<boolean>;

/**
 * A stream kind whose subscriptions are views with a lease: the client
 * renews by sending `sub` again (authorized again each time), and the
 * gateway ends a lease that runs out (docs/protocol.md §6.9). `onView` and
 * `onLeave` hear of it: on the grant and each renewal, and once at the end
 * (unsub, lapse, a refused renewal, the socket closing). They run on the
 * gateway's path: hand the news on (an actor `tell`) and return; a throw is
 * logged, never answered.
 */
export interface LeasedStreamRule {
  authorize: StreamAuthorizer;
  /** The lease, from the node's configuration. */
  leaseMs: (config: Config) => number;
  /**
   * A direct stream: nothing is stored or published on the bus; the
   * capability sends each view its own events with `StreamView.push` (what
   * one subscriber alone should get: the presence of the people it follows).
   */
  direct?: boolean;
  /**
   * Events the stream history keeps for resume for streams of this kind,
   * where fewer than STREAM_HISTORY_SIZE will do: a stream whose every
   * event is the whole state (a nearby list) keeps 1. A resume further
   * back answers `refetch`.
   */
  history?: number;
  onView?: (ports: CapabilityPorts, view: StreamView) => void;
  onLeave?: (ports: CapabilityPorts, view: StreamView) => void;
}

/** One leased subscription, as `onView`/`onLeave` see it. */
export interface StreamView {
  stream: string;
  userId: string;
  /** The subscribing connection, unique in the cluster: `<node id>/<session>`. */
  viewer: string;
  leaseMs: number;
  /**
   * Sends `data` as the next event of a direct stream to this view alone;
   * false (nothing sent) once the view ended or for a stream that is not direct.
   */
  push(data: unknown): boolean;
}

/** Who may subscribe to a stream kind: a plain authorizer, or a leased rule. */
export type StreamRule = StreamAuthorizer | LeasedStreamRule;

/** An operation of any method, as a list holds it. */
export type AnyOperation = { [M in MethodName]: Operation<M> }[MethodName];

/** Declares a capability: a name, and its operations (each named `<name>.<verb>`). */
export function defineCapability(c: Capability): Capability {
  for (const op of c.operations) {
    if (!op.method.startsWith(`${c.name}.`))
      throw new Error(`capability ${c.name}: operation ${op.method} must be named ${c.name}.<verb>`);
  }
  return c;
}
