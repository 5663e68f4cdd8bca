import type { Static, TSchema } from '@sinclair/typebox';
import { AccountsMethods } from './methods/accounts.js';
import { FeedMethods } from './methods/feed.js';
import { GraphMethods } from './methods/graph.js';
import { PostsMethods } from './methods/posts.js';
import { SystemMethods } from './methods/system.js';

/**
 * Request methods (`req.method`) with the schemas of their params and result:
 * one file per capability under `methods/`, merged here. The server validates
 * `params` against these and serves each method as a WebSocket method and an
 * HTTP route (`server/src/capabilities/`); the SDK derives its typed `call()`
 * signatures from them as types only (`@shutter/protocol/wire`).
 */
export const Methods = {
  ...SystemMethods,
  ...FeedMethods,
  ...PostsMethods,
  ...GraphMethods,
  ...AccountsMethods,
} as const satisfies Record<string, MethodSchemas>;

export interface MethodSchemas {
  params: TSchema;
  result: TSchema;
  /** Safe to send again after a lost connection without an idempotency key. */
  idempotent: boolean;
}

export type MethodName = keyof typeof Methods;
export type MethodParams<M extends MethodName> = Static<(typeof Methods)[M]['params']>;
export type MethodResult<M extends MethodName> = Static<(typeof Methods)[M]['result']>;

/** Every method's params and result types: the map the SDK's typed `call()` is checked against. */
export type MethodMap = { [M in MethodName]: { params: MethodParams<M>; result: MethodResult<M> } };

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(Methods, name);
}
