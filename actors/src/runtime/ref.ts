import type { ActorType, Handlers, MessageOf, ReplyOf } from './actor-type.js';

export interface AskOptions {
  /** Time allowed from now; defaults to the system's `defaultDeadlineMs`. */
  deadlineMs?: number;
  /** Retries with the same key get the first reply instead of applying the message again. */
  idempotencyKey?: string;
}

export type TellOptions = AskOptions;

/**
 * A handle on one virtual actor: cheap, holds no activation, valid forever.
 * `ask` resolves with the handler's reply once any state change it made is
 * committed, or rejects with an `ActorError` (`actor_timeout` at the
 * deadline, `actor_handler_error` when the handler threw, …). `tell` returns
 * at once; failures are only counted and passed to the system's `onError`.
 */
export interface ActorRef<H> {
  readonly type: string;
  readonly id: string;
  tell(msg: MessageOf<H>, options?: TellOptions): void;
  ask<M extends MessageOf<H>>(msg: M, options?: AskOptions): Promise<ReplyOf<H, M>>;
}

/** The part of the system handlers see (`ctx.system`). */
export interface ActorSystemApi {
  ref<S, H extends Handlers<S>>(type: ActorType<S, H>, id: string): ActorRef<H>;
}
