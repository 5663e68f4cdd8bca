import type { ShutterError, StreamPosition } from '@shutter/protocol/wire';
import type { Emitter, Listener } from './emitter.js';

/**
 * `subscribing`: a `sub` is in flight or waits for a connection (also after
 * a reconnect and while recovering from a gap); `subscribed`: events flow;
 * `unsubscribed`: ended by `unsubscribe()` or a permanent error.
 */
export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

/** One event of a stream as the handler sees it: each exactly once, in seq order. */
export interface StreamEvent<T = unknown> {
  stream: string;
  epoch: string;
  seq: number;
  data: T;
  /** Server publish time, ms since the Unix epoch. */
  ts: number;
}

/**
 * The server's history no longer reaches where this subscription was (or the
 * stream's epoch changed): events between `previous` and (`epoch`, `seq`)
 * are lost to it. Reload the state from the API; live events after `seq`
 * follow.
 */
export interface RefetchInfo {
  stream: string;
  epoch: string;
  seq: number;
  previous: StreamPosition | undefined;
}

export interface SubscribedInfo {
  status: 'fresh' | 'recovered' | 'refetch';
  epoch: string;
  seq: number;
  missed: number;
}

export interface SubscriptionEvents {
  state: { state: SubscriptionState; previous: SubscriptionState };
  /** Every successful `sub` answer, after connect, reconnect or gap recovery. */
  subscribed: SubscribedInfo;
  refetch: RefetchInfo;
  /** A permanent failure (e.g. `forbidden`); the subscription is `unsubscribed` afterwards. */
  error: ShutterError;
}

export type StreamHandler<T = unknown> = (event: StreamEvent<T>) => void;

export interface SubscribeOptions {
  /** Resume from a position the app kept (e.g. across restarts) instead of starting fresh. */
  from?: StreamPosition;
  onRefetch?: (info: RefetchInfo) => void;
  onError?: (error: ShutterError) => void;
}

/** What the registry lets a Subscription see of its record. */
export interface SubscriptionControl {
  state(): SubscriptionState;
  position(): StreamPosition | undefined;
  unsubscribe(): Promise<void>;
}

/** A live subscription to one stream, as returned by `client.subscribe()`. */
export class Subscription {
  readonly stream: string;
  readonly #control: SubscriptionControl;
  readonly #events: Emitter<SubscriptionEvents>;

  constructor(stream: string, control: SubscriptionControl, events: Emitter<SubscriptionEvents>) {
    this.stream = stream;
    this.#control = control;
    this.#events = events;
  }

  get state(): SubscriptionState {
    return this.#control.state();
  }

  /** The (epoch, seq) of the last event delivered; keep it to resume later with `from`. */
  get position(): StreamPosition | undefined {
    return this.#control.position();
  }

  on<K extends keyof SubscriptionEvents>(event: K, listener: Listener<SubscriptionEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  /** Stops delivery at once; resolves when the server confirmed (or at once when offline). */
  unsubscribe(): Promise<void> {
    return this.#control.unsubscribe();
  }
}
