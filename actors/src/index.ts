export { CLUSTER_DEFAULTS, ClusterNode, type ClusterNodeOptions } from './cluster/cluster-node.js';
export type { ClusterLog, ClusterTimings } from './cluster/context.js';
export { hash32, shardOf } from './cluster/hash.js';
export { MemoryShardMapStore } from './cluster/memory-shard-map-store.js';
export { Rendezvous } from './cluster/rendezvous.js';
export { nodeSubject } from './cluster/router.js';
export type { ShardHost } from './cluster/shard-keeper.js';
export {
  type ShardMapChange,
  ShardMapConflict,
  type ShardMapEntry,
  type ShardMapStore,
  type ShardMapWatch,
} from './cluster/shard-map-store.js';
export type { ClusterStats } from './cluster/stats.js';
// Domain actors (actors/src/domain)
export { CounterActor } from './domain/counter.js';
// Actor runtime (actors/src/runtime)
export {
  type ActorContext,
  type ActorType,
  type ActorTypeSpec,
  type AnyActorType,
  type AnyHandler,
  defineActor,
  type Handlers,
  type Immutable,
  type MessageOf,
  type Persistence,
  type ReplyOf,
} from './runtime/actor-type.js';
export {
  type Bus,
  BusClosed,
  BusNoResponders,
  BusRemoteError,
  type BusStatus,
  type BusStatusListener,
  type BusSubscription,
  BusTimeout,
  type MessageHandler,
  type RequestHandler,
  type SubscribeOptions,
  subjectMatches,
} from './runtime/bus.js';
export {
  ActorError,
  type ActorErrorCode,
  ActorErrorCodes,
  ActorHandlerError,
  ActorTimeout,
  ActorUnavailable,
  fromWireError,
  IdempotencyKeyExpired,
  IdempotencyKeyInvalid,
  isRetryable,
  ShardNotOwned,
  StaleEpoch,
  StateRejected,
  toWireError,
  UnknownActorType,
  UnknownMessage,
  VersionConflict,
  type WireActorError,
} from './runtime/errors.js';
export { GroupCommit, type GroupCommitOptions } from './runtime/group-commit.js';
export { checkKey, keyTime, uuidv7 } from './runtime/idempotency-key.js';
export { type IsolationCounts, saveIsolating } from './runtime/isolating-commit.js';
export { MemoryBus } from './runtime/memory-bus.js';
export { MemoryStateStore } from './runtime/memory-state-store.js';
export {
  type ActorEnvelope,
  type ActorMessage,
  DEFAULT_SHARD_COUNT,
  type Placement,
  type ShardLocation,
  SingleNodePlacement,
  stableShard,
} from './runtime/placement.js';
export type { ActorRef, ActorSystemApi, AskOptions, TellOptions } from './runtime/ref.js';
export type { IdempotencyOptions } from './runtime/replies.js';
export type { KeyRecord, SaveOutcome, StateStore, StateWrite, StoredState } from './runtime/state-store.js';
export {
  assertOnePerActor,
  assertStorableName,
  isStorableText,
  keyRows,
  saveOne,
  stateJson,
} from './runtime/state-store.js';
export type { ActorSystemStats, TurnTimeSummary } from './runtime/stats.js';
export { ActorSystem, type ActorSystemOptions } from './runtime/system.js';
