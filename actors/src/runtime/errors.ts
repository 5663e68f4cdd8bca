/**
 * Errors of the actor runtime. Each has a stable snake_case `code` (listed in
 * docs/errors.md, "Actor runtime"), `name` equal to the class name, a
 * `retryable` flag and an optional `cause`. `retryable` means "the message was
 * not applied, sending it again (possibly elsewhere) is safe"; the router
 * retries such failures itself until the message's deadline.
 *
 * Across the wire compare `code`, not `instanceof`: `toWireError` and
 * `fromWireError` carry these errors over the bus.
 */
/**
 * Every code of the actor runtime, whether a message failing with it may be
 * sent again, and what it means. docs/errors.md ("Actor runtime") lists the
 * same table; errors.test.ts keeps the two in sync.
 */
export const ActorErrorCodes = {
  actor_timeout: {
    retryable: false,
    description:
      'The message could not be delivered, handled and (for a state change) committed before its deadline. It may or may not have been applied: retry with the same idempotency key.',
  },
  actor_handler_error: {
    retryable: false,
    description:
      "The actor's handler threw. The actor's state is unchanged. `handlerCode`, message and `details` come from a public `ShutterError`; anything else is masked.",
  },
  actor_unavailable: {
    retryable: true,
    description:
      'The actor could not be activated (its state did not load), its state write failed and was rolled back, or the node is stopping. Not applied; the runtime retries until the deadline.',
  },
  actor_unknown_type: {
    retryable: false,
    description: 'No actor type of that name is registered on the node.',
  },
  actor_unknown_message: {
    retryable: false,
    description: 'The actor type has no handler for the message type.',
  },
  shard_not_owned: {
    retryable: true,
    description:
      'The shard is not served by this node (moved, moving or stopping). Not applied; the sender routes it again until the deadline.',
  },
  stale_epoch: {
    retryable: true,
    description:
      "The store refused a write or fence: the shard's fencing epoch is newer than the writer's (another node owns the shard now).",
  },
  version_conflict: {
    retryable: false,
    description:
      'The store refused a write: the actor was saved by someone else since it was loaded (optimistic concurrency).',
  },
  state_rejected: {
    retryable: false,
    description:
      "The store refused this actor's data as it is (for example an id holding U+0000 or a lone surrogate, which a database text column cannot hold), or the write failed on its own while the rest of its batch committed. Sending it again fails the same way, so the runtime does not retry it. Nothing was applied.",
  },
  idempotency_key_invalid: {
    retryable: false,
    description:
      'The idempotency key does not end in a time-ordered id (a UUIDv7 or a ULID, optionally after a `scope:` prefix), or its time is further in the future than the window. Nothing was applied.',
  },
  idempotency_key_expired: {
    retryable: false,
    description:
      'The time in the idempotency key is older than the idempotency window: the runtime may have forgotten the key, so it refuses the message rather than risk applying it twice. Nothing was applied.',
  },
} as const satisfies Record<string, { retryable: boolean; description: string }>;

export type ActorErrorCode = keyof typeof ActorErrorCodes;

export interface ActorErrorOptions {
  cause?: unknown;
  retryable?: boolean;
}

export class ActorError extends Error {
  readonly code: ActorErrorCode;
  readonly retryable: boolean;

  constructor(code: ActorErrorCode, message: string, options: ActorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? ActorErrorCodes[code].retryable;
  }
}

/** The message could not be handled (and its answer made durable) before its deadline. */
export class ActorTimeout extends ActorError {
  constructor(what: string, deadline: number, options: ActorErrorOptions = {}) {
    super(
      'actor_timeout',
      `${what}: no answer before the deadline (${new Date(deadline).toISOString()})`,
      options,
    );
  }
}

/**
 * The handler threw. When the thrown value is public and carries a code (a
 * `ShutterError` from @shutter/protocol, or anything shaped like one),
 * `handlerCode`, the message and `details` are passed on; otherwise only a
 * generic message, the original stays in `cause` on this node.
 */
export class ActorHandlerError extends ActorError {
  readonly handlerCode: string | undefined;
  readonly public: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    message: string,
    init: {
      handlerCode?: string | undefined;
      public?: boolean;
      details?: Record<string, unknown> | undefined;
    },
    options: ActorErrorOptions = {},
  ) {
    super('actor_handler_error', message, options);
    this.handlerCode = init.handlerCode;
    this.public = init.public ?? false;
    this.details = init.details;
  }

  /** Wraps whatever a handler threw. */
  static from(thrown: unknown, where: string): ActorHandlerError {
    if (isPublicCoded(thrown)) {
      return new ActorHandlerError(
        thrown.message,
        { handlerCode: thrown.code, public: true, details: thrown.details },
        { cause: thrown },
      );
    }
    return new ActorHandlerError(`${where} failed`, {}, { cause: thrown });
  }
}

/** The actor could not be activated (its state did not load) or its node is stopping. */
export class ActorUnavailable extends ActorError {
  constructor(message: string, options: ActorErrorOptions = {}) {
    super('actor_unavailable', message, { retryable: true, ...options });
  }
}

export class UnknownActorType extends ActorError {
  constructor(type: string) {
    super('actor_unknown_type', `no actor type named ${type} is registered`);
  }
}

export class UnknownMessage extends ActorError {
  constructor(type: string, msgType: string) {
    super('actor_unknown_message', `actor type ${type} has no handler for ${msgType}`);
  }
}

/** This node does not (or no longer) own the shard: the message was not applied; route it again. */
export class ShardNotOwned extends ActorError {
  constructor(shard: number, options: ActorErrorOptions = {}) {
    super('shard_not_owned', `shard ${shard} is not owned here`, { retryable: true, ...options });
  }
}

/** A write or fence carried an epoch lower than the highest the store has seen for the shard. */
export class StaleEpoch extends ActorError {
  constructor(shard: number, epoch: number, current: number) {
    super('stale_epoch', `shard ${shard}: epoch ${epoch} is older than ${current}`, { retryable: true });
  }
}

/** A write expected a version the store no longer holds (someone else wrote first). */
export class VersionConflict extends ActorError {
  constructor(type: string, id: string, expected: number, actual: number) {
    super('version_conflict', `${type}/${id}: expected version ${expected}, store has ${actual}`);
  }
}

/**
 * The store refused this actor's data (a data error such as a string a text
 * column cannot hold), or its write failed alone while the rest of its batch
 * committed: it can never succeed as it is, so it is not retried.
 */
export class StateRejected extends ActorError {
  constructor(message: string, options: ActorErrorOptions = {}) {
    super('state_rejected', message, options);
  }
}

/** The idempotency key carries no readable time (not a UUIDv7/ULID) or one too far ahead. */
export class IdempotencyKeyInvalid extends ActorError {
  constructor(key: string, why: string) {
    super('idempotency_key_invalid', `idempotency key ${JSON.stringify(key.slice(0, 140))}: ${why}`);
  }
}

/** The idempotency key is older than the window: it may have been forgotten, so it is refused. */
export class IdempotencyKeyExpired extends ActorError {
  constructor(key: string, ageMs: number, windowMs: number) {
    super(
      'idempotency_key_expired',
      `idempotency key ${JSON.stringify(key.slice(0, 140))} is ${Math.round(ageMs / 1000)} s old, beyond the ${Math.round(windowMs / 1000)} s window`,
    );
  }
}

/** What an actor error looks like on the wire (no cause, no stack). */
export interface WireActorError {
  code: string;
  message: string;
  retryable: boolean;
  handlerCode?: string;
  details?: Record<string, unknown>;
}

export function toWireError(err: unknown): WireActorError {
  if (err instanceof ActorHandlerError) {
    const w: WireActorError = { code: err.code, message: err.message, retryable: false };
    if (err.handlerCode !== undefined) w.handlerCode = err.handlerCode;
    if (err.details !== undefined) w.details = err.details;
    return w;
  }
  if (err instanceof ActorError) return { code: err.code, message: err.message, retryable: err.retryable };
  // Anything else is not ours to show: keep the code generic, the message short.
  return { code: 'actor_unavailable', message: 'remote failure', retryable: false };
}

/** Rebuilds an `ActorError` from its wire form; `code` and `retryable` survive exactly. */
export function fromWireError(w: WireActorError): ActorError {
  if (w.code === 'actor_handler_error') {
    return new ActorHandlerError(w.message, {
      handlerCode: w.handlerCode,
      public: w.handlerCode !== undefined,
      details: w.details,
    });
  }
  const code: ActorErrorCode = Object.hasOwn(ActorErrorCodes, w.code)
    ? (w.code as ActorErrorCode)
    : 'actor_unavailable';
  return new ActorError(code, w.message, { retryable: w.retryable });
}

/**
 * Whether a failed delivery may be sent again: our own retryable errors, and
 * the bus saying nobody listens (the message never arrived). A bus timeout is
 * not retryable: the message may have been applied.
 */
export function isRetryable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { retryable?: unknown; code?: unknown };
  return e.retryable === true || e.code === 'bus_no_responders';
}

function isPublicCoded(
  e: unknown,
): e is { code: string; message: string; public: true; details?: Record<string, unknown> | undefined } {
  if (!(e instanceof Error)) return false;
  const x = e as Error & { code?: unknown; public?: unknown };
  return typeof x.code === 'string' && x.public === true;
}
