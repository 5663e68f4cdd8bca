import type { ActorMessage } from './placement.js';
import type { ActorRef, ActorSystemApi } from './ref.js';

/** Deeply readonly view of a state: handlers change state only through `setState`. */
export type Immutable<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends ReadonlyArray<infer E>
    ? ReadonlyArray<Immutable<E>>
    : T extends object
      ? { readonly [K in keyof T]: Immutable<T[K]> }
      : T;

/**
 * What a handler sees of its activation during one turn.
 *
 * State model: `state` is the last committed state (plus this turn's own
 * `setState` calls). `setState` stages a new value; it is applied only when
 * the handler returns, and dropped if it throws, so a failed message leaves
 * the state as it was. Never mutate `state` in place: it is the committed
 * value (the type makes it readonly for that reason).
 */
export interface ActorContext<S> {
  readonly type: string;
  readonly id: string;
  readonly state: Immutable<S>;
  /** Stages the next state: a value, or an updater applied to the latest state (use that in reentrant types). */
  setState(next: S | Immutable<S> | ((current: Immutable<S>) => S | Immutable<S>)): void;
  /** The current message's deadline (ms since the epoch) and idempotency key, if any. */
  readonly deadline: number;
  readonly idempotencyKey: string | undefined;
  /** The system, to reach other actors. Asking an actor that asks you back deadlocks until the deadline. */
  readonly system: ActorSystemApi;
  /**
   * Delivers `msg` to this actor after `delayMs` (and every `delayMs` with
   * `repeat`), as an ordinary turn. Same name replaces. Timers live with the
   * activation: passivation cancels them, and their messages do not count as
   * activity for the idle timeout (a repeating timer never pins an actor).
   */
  setTimer(name: string, delayMs: number, msg: TimerMessage, options?: { repeat?: boolean }): void;
  cancelTimer(name: string): void;
  /** Asks the runtime to passivate this activation once the current turn ends. */
  passivate(): void;
}

/** A message to self (checked when it arrives: an unknown type fails like any unknown message). */
export type TimerMessage = ActorMessage & Record<string, unknown>;

/** A handler: gets the context and its message (`{ type, ...payload }`), returns the reply. */
// `msg: never` in the constraint: any message type is assignable (parameters are contravariant).
export type AnyHandler<S> = (ctx: ActorContext<S>, msg: never) => unknown;
export type Handlers<S> = Record<string, AnyHandler<S>>;

type PayloadOf<F> = F extends (ctx: never, msg: infer P) => unknown
  ? unknown extends P
    ? Record<never, never>
    : Omit<P, 'type'>
  : never;

/** The union of messages an actor type accepts: `{ type: <handler name>, ...payload }`. */
export type MessageOf<H> = {
  [K in keyof H & string]: { type: K } & PayloadOf<H[K]>;
}[keyof H & string];

/** The reply type of the handler named by `M['type']`. */
export type ReplyOf<H, M> = M extends { type: infer K }
  ? K extends keyof H
    ? H[K] extends (...args: never[]) => infer R
      ? Awaited<R>
      : never
    : never
  : never;

/**
 * How state reaches the store:
 * - `'turn'` (default): every turn that changes state is saved (group-committed)
 *   before its reply is released — acknowledged means durable.
 * - `'passivation'`: saved only when the activation passivates or its shard
 *   stops; a crash loses changes since activation (for caches, counters that
 *   can be rebuilt).
 * - `'none'`: never loaded or saved (presence, live viewer counts).
 */
export type Persistence = 'turn' | 'passivation' | 'none';

export interface ActorTypeSpec<S, H extends Handlers<S>> {
  /** Unique per system; part of the address and of the stored key. */
  name: string;
  /** The state of an actor that has never been saved. */
  initialState: (id: string) => S;
  handlers: H;
  /** Runs once the state is loaded, before the first message (a turn: may setState, may await). */
  onActivate?: (ctx: ActorContext<S>) => void | Promise<void>;
  /** Runs before the final save on passivation (a turn). Its failure is reported, the save still happens. */
  onPassivate?: (ctx: ActorContext<S>) => void | Promise<void>;
  /**
   * Opt-in: let this type's turns interleave at their awaits (messages are
   * started in order without waiting for the previous one to finish). Use
   * `setState(updater)` so concurrent turns do not overwrite each other.
   */
  reentrant?: boolean;
  persistence?: Persistence;
  /** Idle time before passivation; defaults to the system's `idleMs`. */
  idleMs?: number;
}

/** A declared actor type; pass it to `ActorSystem.register` and `system.ref`. */
export interface ActorType<S, H extends Handlers<S>> extends ActorTypeSpec<S, H> {
  readonly __brand: 'ActorType';
}

/** Declares an actor type. Handler names become message types. */
export function defineActor<S, H extends Handlers<S>>(spec: ActorTypeSpec<S, H>): ActorType<S, H> {
  return { ...spec, __brand: 'ActorType' };
}

export type AnyActorType = ActorType<unknown, Handlers<unknown>>;
export type { ActorRef };
