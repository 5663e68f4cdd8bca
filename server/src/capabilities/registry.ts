import { isMethodName, type MethodName, Methods, ShutterError, streamKind } from '@shutter/protocol';
import { validate } from '@shutter/protocol/validate';
import type { SubscribeAuthorizer } from '../gateway/authorize.js';
import type { IdempotencyStore } from './idempotency.js';
import type {
  AnyOperation,
  Caller,
  Capability,
  CapabilityPorts,
  Operation,
  OperationContext,
} from './operation.js';
import type { OperationRateLimits } from './rate-limits.js';
import { compileStreamRule } from './stream-rules.js';

export interface RegistryOptions {
  ports: CapabilityPorts;
  /**
   * Same-node retries of non-idempotent operations with a key answer the
   * first result, and a key reused with other params is `conflict`.
   */
  idempotency: IdempotencyStore;
  /** Check every result against its schema (development and tests; off in production). */
  checkResults: boolean;
  /**
   * Every call takes from its class's bucket (RATE_LIMITS) once its params
   * are valid. The node always passes them; tests of other rules may not.
   */
  limits?: OperationRateLimits;
}

/** One call, from either front door. */
export interface OperationCall {
  caller: Caller;
  /** Params as received: validated here. Absent means `{}`. */
  params: unknown;
  idempotencyKey: string | undefined;
  via: 'ws' | 'http';
}

/**
 * Every operation of every capability, by method name. Both front doors
 * call `call()`: the WebSocket gateway for a `req`, the HTTP routes
 * (`http-routes.ts`) for a request to an operation's path. It validates the
 * params (schema, and clean text: well-formed Unicode without NUL), takes
 * from the caller's rate-limit bucket of the operation's class, runs a
 * non-idempotent operation with a key through the idempotency store,
 * dispatches, and checks results when asked. It throws; the edge
 * (`toPublicError`) turns what it throws into what the client sees.
 */
export class OperationRegistry {
  private readonly ops = new Map<string, AnyOperation>();
  readonly capabilities: readonly Capability[];

  constructor(
    capabilities: readonly Capability[],
    private readonly options: RegistryOptions,
  ) {
    this.capabilities = capabilities;
    const routes = new Set<string>();
    for (const cap of capabilities) {
      for (const op of cap.operations) {
        if (this.ops.has(op.method)) throw new Error(`operation ${op.method} is registered twice`);
        const route = `${op.http.method} ${op.http.path.replace(/\{[^}]+\}/g, '{}')}`;
        if (routes.has(route)) throw new Error(`two operations on ${op.http.method} ${op.http.path}`);
        routes.add(route);
        checkPathParams(op);
        this.ops.set(op.method, op);
      }
    }
    // The protocol is the contract: a method a client may send with no operation behind it is a bug.
    const missing = Object.keys(Methods).filter((m) => !this.ops.has(m));
    if (missing.length > 0) throw new Error(`no operation serves ${missing.join(', ')}`);
  }

  /**
   * The gateway's `sub` check: the rule of the capability that names the
   * stream's kind (with its lease, if it has one), else `fallback` (the
   * default rule).
   */
  authorizer(fallback: SubscribeAuthorizer): SubscribeAuthorizer {
    const rules = new Map<string, SubscribeAuthorizer>();
    for (const cap of this.capabilities) {
      for (const [kind, rule] of Object.entries(cap.streams ?? {})) {
        if (rules.has(kind)) throw new Error(`two capabilities authorize ${kind}: streams`);
        rules.set(kind, compileStreamRule(rule, this.options.ports));
      }
    }
    return (userId, stream) => (rules.get(streamKind(stream)) ?? fallback)(userId, stream);
  }

  /** Removes a deleted account's data: every capability's `onUserDeleted`, in registration order. */
  async userDeleted(userId: string): Promise<void> {
    for (const cap of this.capabilities) await cap.onUserDeleted?.(this.options.ports, userId);
  }

  /** Every operation, in registration order. */
  operations(): AnyOperation[] {
    return [...this.ops.values()];
  }

  get(method: string): AnyOperation | undefined {
    return this.ops.get(method);
  }

  async call(method: string, c: OperationCall): Promise<unknown> {
    const op = isMethodName(method) ? this.ops.get(method) : undefined;
    if (!op) throw new ShutterError('unknown_method', `no method named ${method.slice(0, 64)}`);
    if (op.auth === 'user' && !c.caller.userId)
      throw new ShutterError('unauthenticated', 'send Authorization: Bearer <token>');
    // Only an absent `params` means `{}`: `null` is a value like any other (protocol.md §2.1).
    const params = c.params === undefined ? {} : c.params;
    const v = validate(op.params, params);
    if (!v.ok) throw new ShutterError('bad_request', `params${v.message}`);
    // After validation: a refused bad input changes nothing, not even the caller's allowance.
    await this.options.limits?.take(op, c.caller);
    const ctx: OperationContext = {
      ...this.options.ports,
      caller: c.caller,
      idempotencyKey: c.idempotencyKey,
      via: c.via,
    };
    const run = () => this.run(op as Operation<MethodName>, ctx, params);
    if (op.idempotent || c.idempotencyKey === undefined) return run();
    // The store answers same-node retries at once; the actor's key table is what lasts the window.
    return this.options.idempotency.once(
      `${c.caller.userId}:${op.method}`,
      c.idempotencyKey,
      JSON.stringify(params),
      run,
    );
  }

  private async run(op: Operation<MethodName>, ctx: OperationContext, params: unknown): Promise<unknown> {
    const result = await op.handler(ctx, params as never);
    if (this.options.checkResults) {
      const r = validate(op.result, result);
      if (!r.ok) throw new Error(`${op.method} answered a result its schema refuses: result${r.message}`);
    }
    return result;
  }
}

/** `{name}` in a path must be a string param of the operation, or the route could never fill it. */
function checkPathParams(op: AnyOperation): void {
  const props = (op.params as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  for (const [, name] of op.http.path.matchAll(/\{([^}]+)\}/g)) {
    if (props[name!]?.type !== 'string')
      throw new Error(`${op.method}: path parameter {${name}} is not a string param`);
  }
}
