/**
 * The message bus port: subjects, publish/subscribe and request/reply.
 * Adapters: `MemoryBus` (one process, the embedded default) and `NatsBus`
 * (server/src/adapters/nats-bus.ts). Both pass `busContract` (actors/src/testing).
 *
 * Subjects are dot-separated tokens as in NATS; `*` matches one token and a
 * final `>` matches one or more. Payloads are opaque bytes.
 *
 * Contract:
 * - `publish` is fire-and-forget: at most once to every subscription that
 *   exists when the bus routes it; order is kept per publisher and subject.
 * - A subscription with a `queue` group shares its subject with the other
 *   members of the group: each message goes to one of them.
 * - `request` resolves with the first reply, or rejects with `BusNoResponders`
 *   when nobody serves the subject and with `BusTimeout` after `timeoutMs`.
 * - A `serve` handler that throws makes the request reject with
 *   `BusRemoteError` carrying the error's message.
 * - Handlers never run re-entrantly inside `publish` or `request`: delivery is
 *   always asynchronous (a later microtask or I/O turn).
 * - `onStatus` reports the connection to the bus going away and coming back
 *   (NATS: the client lost its server and reconnected). Publishes made while
 *   disconnected, or shortly before, may be lost; messages published by others
 *   meanwhile are lost for this node's subscriptions. An in-process bus never
 *   reports anything.
 */
export interface Bus {
  publish(subject: string, payload: Uint8Array): void;
  subscribe(subject: string, handler: MessageHandler, options?: SubscribeOptions): BusSubscription;
  request(subject: string, payload: Uint8Array, options: { timeoutMs: number }): Promise<Uint8Array>;
  serve(subject: string, handler: RequestHandler, options?: SubscribeOptions): BusSubscription;
  /** Resolves once everything published so far has reached the server (memory: at once). */
  flush(): Promise<void>;
  /** Drains subscriptions and closes; later calls fail with `BusClosed`. */
  close(): Promise<void>;
  /** Calls `listener` on each loss (`disconnected`) and return (`reconnected`) of the bus; returns an unsubscribe. */
  onStatus(listener: BusStatusListener): () => void;
}

export type BusStatus = 'disconnected' | 'reconnected';
export type BusStatusListener = (status: BusStatus) => void;

export type MessageHandler = (payload: Uint8Array, subject: string) => void;
export type RequestHandler = (payload: Uint8Array, subject: string) => Promise<Uint8Array> | Uint8Array;

export interface SubscribeOptions {
  queue?: string;
}

export interface BusSubscription {
  readonly subject: string;
  unsubscribe(): void;
}

export class BusTimeout extends Error {
  override readonly name = 'BusTimeout';
  readonly code = 'bus_timeout';
  constructor(subject: string, timeoutMs: number) {
    super(`no reply on ${subject} within ${timeoutMs} ms`);
  }
}

export class BusNoResponders extends Error {
  override readonly name = 'BusNoResponders';
  readonly code = 'bus_no_responders';
  constructor(subject: string) {
    super(`nobody serves ${subject}`);
  }
}

export class BusRemoteError extends Error {
  override readonly name = 'BusRemoteError';
  readonly code = 'bus_remote_error';
}

export class BusClosed extends Error {
  override readonly name = 'BusClosed';
  readonly code = 'bus_closed';
  constructor() {
    super('the bus is closed');
  }
}

/** NATS subject matching: `*` one token, trailing `>` one or more tokens. */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const tok = p[i];
    if (tok === '>') return s.length > i;
    if (i >= s.length) return false;
    if (tok !== '*' && tok !== s[i]) return false;
  }
  return p.length === s.length;
}
