import type { ActorSystem, AnyActorType } from '@shutter/actors';
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
import type { Logger } from '../log.js';
import type { MediaService } from '../media/media-service.js';
import type { Migration } from '../sql/sql.js';
import type { Databases } from '../storage/databases.js';
import type { StreamBatchPublisher } from '../streams/publisher.js';
import type { DomainEvents } from './events.js';
import type { FeedStore } from './feed/feed-store.js';

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
  /** The client's network address (the HTTP request's or the socket's peer), for per-address limits. */
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
  /**
   * Mints the access tokens the gateway verifies (`sub` = user id), with the
   * node's signing key; undefined when the node only verifies tokens an
   * outside identity provider issues (AUTH_JWT_PUBLIC_KEY alone).
   */
  tokens: TokenMinter | undefined;
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
  handler: OperationHandler<M>;
}

/** An operation with its schemas attached, as the registry holds it. */
export interface Operation<M extends MethodName = MethodName> extends OperationSpec<M> {
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
   * `author:<id>:posts`…). A kind no capability names keeps the gateway's
   * default rule (`user:<id>:…` for that user alone; `topic:` and `photo:` public).
   */
  streams?: Record<string, StreamAuthorizer>;
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
