import type { Static, TSchema } from '@sinclair/typebox';
import { AccountsMethods } from './methods/accounts.js';
import { CommentsMethods } from './methods/comments.js';
import { DevicesMethods } from './methods/devices.js';
import { ExploreMethods } from './methods/explore.js';
import { FeedMethods } from './methods/feed.js';
import { GraphMethods } from './methods/graph.js';
import { LikesMethods } from './methods/likes.js';
import { NearbyMethods } from './methods/nearby.js';
import { NotificationsMethods } from './methods/notifications.js';
import { PlacesMethods } from './methods/places.js';
import { PostsMethods } from './methods/posts.js';
import { PresenceMethods } from './methods/presence.js';
import { SearchMethods } from './methods/search.js';
import { SystemMethods } from './methods/system.js';
import { TrendingMethods } from './methods/trending.js';

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
  ...LikesMethods,
  ...GraphMethods,
  ...AccountsMethods,
  ...CommentsMethods,
  ...DevicesMethods,
  ...NotificationsMethods,
  ...PresenceMethods,
  ...NearbyMethods,
  ...TrendingMethods,
  ...ExploreMethods,
  ...SearchMethods,
  ...PlacesMethods,
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
