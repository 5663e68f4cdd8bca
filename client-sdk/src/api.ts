import type { MethodName, MethodParams, MethodResult } from '@shutter/protocol/wire';
import type { CallOptions } from './client.js';

type CapabilityOf<M> = M extends `${infer C}.${string}` ? C : never;
type VerbOf<M, C extends string> = M extends `${C}.${infer V}` ? V : never;

/** One typed method per operation: `client.api.posts.create(params)` is `client.call('posts.create', params)`. */
export type Api = {
  [C in CapabilityOf<MethodName>]: {
    [V in VerbOf<MethodName, C>]: `${C}.${V}` extends infer M extends MethodName
      ? (params: MethodParams<M>, options?: CallOptions) => Promise<MethodResult<M>>
      : never;
  };
};

type Call = (method: string, params: unknown, options?: CallOptions) => Promise<unknown>;

/**
 * The typed methods, made from the method names as they are used: nothing
 * per method ships in the bundle, and a method the server adds is typed as
 * soon as the protocol package knows it.
 */
export function makeApi(call: Call): Api {
  const caps = new Map<string, Record<string, unknown>>();
  return new Proxy({} as Api, {
    get(_, cap) {
      if (typeof cap !== 'string') return undefined;
      let verbs = caps.get(cap);
      if (!verbs) {
        verbs = new Proxy({} as Record<string, unknown>, {
          get: (_t, verb) =>
            typeof verb === 'string'
              ? (params: unknown, options?: CallOptions) => call(`${cap}.${verb}`, params ?? {}, options)
              : undefined,
        });
        caps.set(cap, verbs);
      }
      return verbs;
    },
  });
}
