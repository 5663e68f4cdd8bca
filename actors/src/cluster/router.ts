import { type Bus, type BusSubscription, BusTimeout } from '../runtime/bus.js';
import {
  ActorTimeout,
  ActorUnavailable,
  fromWireError,
  isRetryable,
  ShardNotOwned,
  toWireError,
  type WireActorError,
} from '../runtime/errors.js';
import type { ActorEnvelope } from '../runtime/placement.js';
import type { ClusterCounters } from './context.js';

type Reply = { ok: true; value?: unknown } | { ok: false; error: WireActorError };
/** One bus message carries one envelope or a batch of them; the reply matches. */
type Wire = ActorEnvelope | { batch: ActorEnvelope[] };
type WireReply = Reply | { batch: Reply[] };

interface Pending {
  envelope: ActorEnvelope;
  deadline: number;
  node: string;
  shard: number;
  /** Handed to the bus: from then on the receiver may have applied it. */
  sent: boolean;
  done: boolean;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * The code a bus adapter gives a request that was on the wire when the
 * connection dropped (NatsBus): delivered or not, its reply cannot come.
 */
const CONNECTION_LOST = 'bus_connection_lost';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** At most this many envelopes per bus request. */
export const MAX_BATCH = 64;

/** The subject a node serves actor messages on. */
export const nodeSubject = (prefix: string, node: string) => `${prefix}.node.${node}`;

/**
 * Actor messages between nodes: one bus subject per node (not per shard), so
 * a shard move changes no subscription; the receiver checks ownership itself
 * and answers `shard_not_owned` (retryable) when its map says otherwise.
 *
 * Forwards to one node made in the same event-loop turn travel together in
 * one bus request (up to `MAX_BATCH`): under load this divides the per-message
 * cost of NATS request/reply by the batch size. The cost: the replies of a
 * batch come back together, so a slow handler delays the asks that happened
 * to be batched with it (never past their own deadlines, which the runtime
 * keeps). Envelopes and replies travel as JSON; errors as `WireActorError`.
 *
 * An ask whose reply can no longer come — its receiver's shard was taken
 * over (`ownerLost`), or the bus connection dropped under it — is settled at
 * once instead of at its deadline: when it was never handed to the bus, with
 * `shard_not_owned` (not applied; the runtime routes it again); when it was,
 * its outcome is unknown, so a keyed ask is sent again (retryable
 * `actor_unavailable`: the idempotency key makes a second delivery harmless
 * and the epoch fence stops the old owner committing once the new owner has
 * fenced — docs/cluster.md, "In-flight asks when an owner is lost") and an
 * unkeyed one fails with `actor_timeout` ("may have been applied") early.
 */
export class Router {
  private sub: BusSubscription | undefined;
  private readonly outbox = new Map<string, Pending[]>();
  /** Unsettled forwards by shard. */
  private readonly inflight = new Map<number, Set<Pending>>();

  constructor(
    private readonly bus: Bus,
    private readonly prefix: string,
    private readonly nodeId: string,
    private readonly counters: ClusterCounters,
    private readonly shardOf: (type: string, id: string) => number,
  ) {}

  /** Serves this node's subject with `handle` (which throws `ShardNotOwned` for shards not here). */
  start(handle: (envelope: ActorEnvelope) => Promise<unknown>): void {
    const one = async (envelope: ActorEnvelope): Promise<Reply> => {
      this.counters.received++;
      try {
        return { ok: true, value: await handle(envelope) };
      } catch (e) {
        return { ok: false, error: toWireError(e) };
      }
    };
    this.sub = this.bus.serve(nodeSubject(this.prefix, this.nodeId), async (payload) => {
      const wire = JSON.parse(dec.decode(payload)) as Wire;
      // Started in order, so a batch keeps the sender's order of its messages.
      const reply: WireReply =
        'batch' in wire ? { batch: await Promise.all(wire.batch.map(one)) } : await one(wire);
      return enc.encode(JSON.stringify(reply));
    });
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  /**
   * Sends to `node` and waits until `deadline`. Rejects with the remote actor
   * error (code kept), with `bus_no_responders` when the node is gone (both
   * retryable where the runtime may route again), or `ActorTimeout`.
   */
  forward(node: string, envelope: ActorEnvelope, deadline: number): Promise<unknown> {
    if (deadline - Date.now() < 1)
      return Promise.reject(new ActorTimeout(`${envelope.type}/${envelope.id}`, deadline));
    this.counters.forwarded++;
    return new Promise((resolve, reject) => {
      let queue = this.outbox.get(node);
      if (!queue) {
        this.outbox.set(node, (queue = []));
        setImmediate(() => this.flush(node));
      }
      const shard = this.shardOf(envelope.type, envelope.id);
      const p: Pending = { envelope, deadline, node, shard, sent: false, done: false, resolve, reject };
      queue.push(p);
      let set = this.inflight.get(shard);
      if (!set) this.inflight.set(shard, (set = new Set()));
      set.add(p);
    });
  }

  /** `node` lost `shard` without handing it off: settle what we sent it for that shard. */
  ownerLost(shard: number, node: string): void {
    for (const p of [...(this.inflight.get(shard) ?? [])]) {
      if (p.node !== node) continue;
      if (!p.sent) this.settle(p, undefined, new ShardNotOwned(shard));
      else this.outcomeUnknown(p, `${node} lost shard ${shard} (taken over)`);
    }
  }

  /** How many forwards are waiting for a reply (tests, stats). */
  pending(): number {
    let n = 0;
    for (const set of this.inflight.values()) n += set.size;
    return n;
  }

  private settle(p: Pending, value: unknown, error?: unknown): void {
    if (p.done) return;
    p.done = true;
    const set = this.inflight.get(p.shard);
    set?.delete(p);
    if (set?.size === 0) this.inflight.delete(p.shard);
    if (error === undefined) p.resolve(value);
    else {
      if (isRetryable(error)) this.counters.forwardRetryable++;
      p.reject(error);
    }
  }

  private outcomeUnknown(p: Pending, why: string, cause?: unknown): void {
    const { type, id, idempotencyKey } = p.envelope;
    const what = `${type}/${id} on ${p.node}`;
    if (idempotencyKey !== undefined) {
      this.settle(
        p,
        undefined,
        new ActorUnavailable(`${what}: ${why}; outcome unknown, sent again under its idempotency key`, {
          retryable: true,
          cause,
        }),
      );
    } else {
      this.settle(p, undefined, new ActorTimeout(`${what} (${why}; outcome unknown)`, p.deadline, { cause }));
    }
  }

  private flush(node: string): void {
    const queue = (this.outbox.get(node) ?? []).filter((p) => !p.done);
    this.outbox.delete(node);
    for (let i = 0; i < queue.length; i += MAX_BATCH) void this.send(node, queue.slice(i, i + MAX_BATCH));
  }

  private async send(node: string, items: Pending[]): Promise<void> {
    for (const p of items) p.sent = true;
    const deadline = Math.max(...items.map((p) => p.deadline));
    const timeoutMs = Math.floor(deadline - Date.now());
    const wire: Wire = items.length === 1 ? items[0]!.envelope : { batch: items.map((p) => p.envelope) };
    let replies: Reply[];
    try {
      if (timeoutMs < 1) throw new BusTimeout(node, 0);
      const raw = await this.bus.request(nodeSubject(this.prefix, node), enc.encode(JSON.stringify(wire)), {
        timeoutMs,
      });
      const reply = JSON.parse(dec.decode(raw)) as WireReply;
      replies = 'batch' in reply ? reply.batch : [reply];
    } catch (e) {
      for (const p of items) {
        const { type, id } = p.envelope;
        if (e instanceof BusTimeout)
          this.settle(p, undefined, new ActorTimeout(`${type}/${id} on ${node}`, p.deadline, { cause: e }));
        else if ((e as { code?: unknown }).code === CONNECTION_LOST)
          this.outcomeUnknown(p, 'the bus connection dropped', e);
        else this.settle(p, undefined, e);
      }
      return;
    }
    items.forEach((p, i) => {
      const r = replies[i];
      if (r?.ok) {
        this.settle(p, r.value);
        return;
      }
      const err = fromWireError(
        r?.error ?? { code: 'actor_unavailable', message: 'no reply in batch', retryable: false },
      );
      this.settle(p, undefined, err);
    });
  }
}
