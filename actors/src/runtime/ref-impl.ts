import type { MessageOf, ReplyOf } from './actor-type.js';
import type { ActorMessage } from './placement.js';
import type { ActorRef, AskOptions, TellOptions } from './ref.js';

export interface ActorRefHost {
  send(
    type: string,
    id: string,
    msg: ActorMessage,
    kind: 'ask' | 'tell',
    options?: AskOptions,
    shard?: number,
  ): Promise<unknown>;
  shardOf(type: string, id: string): number;
}

/** Refs compute their shard once (the hash is stable), saving a hash per message. */
export class ActorRefImpl<H> implements ActorRef<H> {
  private shard = -1;

  constructor(
    private readonly host: ActorRefHost,
    readonly type: string,
    readonly id: string,
  ) {}

  tell(msg: MessageOf<H>, options?: TellOptions): void {
    // Failures of a tell are reported through the system's onError, not here.
    this.host.send(this.type, this.id, msg as ActorMessage, 'tell', options, this.shardOf()).catch(() => {});
  }

  ask<M extends MessageOf<H>>(msg: M, options?: AskOptions): Promise<ReplyOf<H, M>> {
    return this.host.send(this.type, this.id, msg as ActorMessage, 'ask', options, this.shardOf()) as Promise<
      ReplyOf<H, M>
    >;
  }

  private shardOf(): number {
    if (this.shard < 0) this.shard = this.host.shardOf(this.type, this.id);
    return this.shard;
  }
}
