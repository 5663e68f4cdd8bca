import { IdempotencyKey, ShutterError } from '@shutter/protocol';
import { validate } from '@shutter/protocol/validate';
import { parseJsonObject } from '../http/json-body.js';
import type { HttpRouter } from '../http/router.js';
import type { HttpRequest } from '../http/types.js';
import type { AnyOperation, Caller } from './operation.js';
import type { OperationRegistry } from './registry.js';

export interface OperationRoutesDeps {
  /** The caller of a request with `Authorization: Bearer <jwt>`: the gateway's verifier. */
  authenticate: (req: HttpRequest) => Promise<{ userId: string }>;
  /** Largest JSON body an operation takes (the socket's MAX_FRAME_BYTES: the same params fit both doors). */
  maxBodyBytes: number;
  /**
   * Takes one request from the user's bucket (RATE_USER_PER_SEC/BURST, the
   * one the user's socket frames take from too); the wait in ms when empty.
   */
  takeUserToken: (userId: string) => number;
  /** The client's address for per-address limits (the peer, or what a trusted proxy says: TRUSTED_PROXIES). */
  clientAddress: (req: HttpRequest) => string;
}

const ANONYMOUS: Caller = { userId: '', session: undefined };
/** DELETE too: account deletion takes the password in the body (an empty body is `{}`). */
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The HTTP front door of every registered operation: `{name}` path
 * segments, the query string and the JSON body (POST/PUT/PATCH/DELETE) merged into
 * one params object, then the same `registry.call` the socket uses. A name
 * given twice (path and body, or twice in the query) is `bad_request`.
 * Path and query values are strings, converted to a number or boolean where
 * the param's schema wants one; the body is typed JSON and is not converted.
 * `Idempotency-Key` is the socket's `ikey`. A caller's requests take from
 * the same per-user bucket as its socket frames. Errors answer
 * `{"error": {code, message, …}}` with the code's status (the router's edge).
 */
export function mountOperationRoutes(
  router: HttpRouter,
  registry: OperationRegistry,
  deps: OperationRoutesDeps,
): void {
  for (const op of registry.operations()) {
    const pattern = op.http.path.replace(/\{([^}]+)\}/g, ':$1');
    router.on(op.http.method, pattern, async (req, res) => {
      const caller: Caller = { ...(await callerOf(op, req, deps)), address: deps.clientAddress(req) };
      if (caller.userId) {
        const wait = deps.takeUserToken(caller.userId);
        if (wait > 0)
          throw new ShutterError('rate_limited', 'too many requests; slow down', { retryAfterMs: wait });
      }
      const params = urlParams(op, req);
      if (WITH_BODY.has(op.http.method)) {
        const body = parseJsonObject(await req.readAll(deps.maxBodyBytes), {});
        for (const [k, v] of Object.entries(body)) {
          if (Object.hasOwn(params, k)) throw new ShutterError('bad_request', `${k} is given twice`);
          params[k] = v;
        }
      }
      const ikey = req.headers['idempotency-key'];
      if (ikey !== undefined && !validate(IdempotencyKey, ikey).ok)
        throw new ShutterError('bad_request', 'Idempotency-Key must be 8–128 characters of [A-Za-z0-9_.:-]');
      const result = await registry.call(op.method, {
        caller,
        params,
        idempotencyKey: ikey,
        via: 'http',
      });
      res.json(op.http.status ?? 200, result);
    });
  }
}

/**
 * Who calls: the bearer token's user. An operation anyone may call
 * (`auth: 'none'`: sign up, log in, refresh) takes a missing, expired or bad
 * token as no token — apps send their stale access token with every request,
 * and that must not stop the very calls that get a new one.
 */
async function callerOf(
  op: AnyOperation,
  req: HttpRequest,
  deps: OperationRoutesDeps,
): Promise<Omit<Caller, 'address'>> {
  if (op.auth === 'none') {
    if (req.headers.authorization === undefined) return ANONYMOUS;
    return deps.authenticate(req).then(
      (id) => ({ userId: id.userId, session: undefined }),
      () => ANONYMOUS,
    );
  }
  return { userId: (await deps.authenticate(req)).userId, session: undefined };
}

function urlParams(op: AnyOperation, req: HttpRequest): Record<string, unknown> {
  const props = (op.params as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(req.params)) out[k] = v;
  for (const [k, v] of req.query) {
    if (Object.hasOwn(out, k)) throw new ShutterError('bad_request', `${k} is given twice`);
    out[k] = fromText(v, props[k]?.type);
  }
  return out;
}

/** A query value as the schema's type wants it; left a string (and refused by the schema) when it does not read as one. */
function fromText(v: string, type: unknown): unknown {
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (type === 'boolean' && (v === 'true' || v === 'false')) return v === 'true';
  return v;
}
