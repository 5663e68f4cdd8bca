import type { ActorContext, Immutable } from './actor-type.js';
import type { ActorMessage } from './placement.js';
import type { ActorSystemApi } from './ref.js';

/** What a turn needs from its activation. */
export interface TurnHost {
  readonly typeName: string;
  readonly id: string;
  state: unknown;
  readonly system: ActorSystemApi;
  setTimer(name: string, delayMs: number, msg: ActorMessage, repeat: boolean): void;
  cancelTimer(name: string): void;
  requestPassivation(): void;
}

type Next = unknown | ((current: unknown) => unknown);

/**
 * One turn's context. `setState` stages into a draft; `commit` applies it to
 * the host when the handler returned. If another turn (reentrant types only)
 * committed in between, the staged updaters are replayed on the newer state.
 */
export class Turn implements ActorContext<unknown> {
  private draft: unknown;
  private base: unknown;
  private ops: Next[] | undefined;
  changed = false;

  constructor(
    private readonly host: TurnHost,
    readonly deadline: number,
    readonly idempotencyKey: string | undefined,
  ) {}

  get type(): string {
    return this.host.typeName;
  }
  get id(): string {
    return this.host.id;
  }
  get system(): ActorSystemApi {
    return this.host.system;
  }
  get state(): Immutable<unknown> {
    return this.changed ? this.draft : this.host.state;
  }

  setState(next: Next): void {
    if (!this.changed) {
      this.base = this.host.state;
      this.draft = this.host.state;
      this.changed = true;
    }
    this.draft = typeof next === 'function' ? (next as (c: unknown) => unknown)(this.draft) : next;
    (this.ops ??= []).push(next);
  }

  /** Applies the staged state to the host; returns whether anything changed. */
  commit(): boolean {
    if (!this.changed) return false;
    if (this.host.state === this.base) {
      this.host.state = this.draft;
    } else {
      let s = this.host.state;
      for (const op of this.ops ?? []) s = typeof op === 'function' ? (op as (c: unknown) => unknown)(s) : op;
      this.host.state = s;
    }
    return true;
  }

  setTimer(name: string, delayMs: number, msg: ActorMessage, options?: { repeat?: boolean }): void {
    this.host.setTimer(name, delayMs, msg, options?.repeat ?? false);
  }
  cancelTimer(name: string): void {
    this.host.cancelTimer(name);
  }
  passivate(): void {
    this.host.requestPassivation();
  }
}
