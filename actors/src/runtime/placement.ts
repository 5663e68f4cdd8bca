import { shardOf } from '../cluster/hash.js';

/**
 * One message on its way to an actor: a plain, serializable object (JSON or
 * msgpack) so the cluster layer can put it on the bus as it is.
 *
 * - `type`, `id`: the actor's address.
 * - `msg`: the message, `{ type: <handler name>, ...payload }`; must be serializable.
 * - `kind`: `'ask'` wants the handler's reply; `'tell'` wants nothing back.
 * - `deadline`: absolute time in ms since the epoch (`Date.now()` clock). Past
 *   it the message is dropped (tell) or failed with `actor_timeout` (ask);
 *   every hop checks it, so node clocks should agree to well under a deadline.
 * - `idempotencyKey`: optional; a second message with the same key to the same
 *   actor inside the idempotency window is answered with the first reply and
 *   not applied again.
 */
export interface ActorEnvelope {
  type: string;
  id: string;
  msg: ActorMessage;
  kind: 'tell' | 'ask';
  deadline: number;
  idempotencyKey?: string;
}

/** Every actor message names its handler in `type`. */
export interface ActorMessage {
  readonly type: string;
}

export type ShardLocation =
  | { kind: 'local'; epoch: number }
  | { kind: 'remote'; node: string }
  | { kind: 'moving' };

/**
 * Where actors live: the port the cluster layer implements (actors/src/cluster)
 * and `SingleNodePlacement` implements for one process.
 *
 * Contract:
 * - `shardOf` is a pure, stable function of (type, id) over a fixed shard
 *   count: the same on every node and across restarts (`shardOf` in
 *   cluster/hash.ts is the one to use).
 * - `locate` is synchronous and cheap (called for every message): it answers
 *   from the node's current view of the shard map. A `local` answer carries
 *   the epoch under which this node owns the shard; epochs of one shard only
 *   grow as ownership changes hands.
 * - `forward` delivers an envelope to another node, which hands it to its
 *   `ActorSystem.deliverLocal`. It resolves with the reply for an ask (and
 *   once sent for a tell) or rejects; a rejection with a retryable error
 *   (`isRetryable`) means "not applied" and the system routes the message again
 *   until its deadline. Remote actor errors come back as `ActorError`s with
 *   their code (see `fromWireError`).
 */
export interface Placement {
  shardOf(type: string, id: string): number;
  /** Where the shard lives now: 'local' with the local owner's epoch, or remote. */
  locate(shard: number): ShardLocation;
  /** Deliver to a remote node (the cluster layer implements it over the Bus). */
  forward(node: string, envelope: ActorEnvelope, deadline: number): Promise<unknown>;
}

export const DEFAULT_SHARD_COUNT = 1024;

/**
 * The shard of actor (type, id) among `shardCount` shards: the cluster's stable
 * hash (cluster/hash.ts), so a single node and a cluster agree.
 */
export function stableShard(type: string, id: string, shardCount: number): number {
  return shardOf(type, id, shardCount);
}

/** The embedded default: one node owns every shard, at epoch 1. */
export class SingleNodePlacement implements Placement {
  private static readonly here = { kind: 'local', epoch: 1 } as const;

  constructor(readonly shardCount = DEFAULT_SHARD_COUNT) {}

  shardOf(type: string, id: string): number {
    return stableShard(type, id, this.shardCount);
  }

  locate(_shard: number): ShardLocation {
    return SingleNodePlacement.here;
  }

  forward(node: string): Promise<unknown> {
    return Promise.reject(new Error(`single-node placement cannot forward to ${node}`));
  }
}
