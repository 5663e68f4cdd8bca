import { type Static, type TSchema, Type } from '@sinclair/typebox';

/**
 * Request methods (`req.method`) with the schemas of their params and result.
 * The server validates `params` against these; the SDK derives its typed
 * `call()` signatures from them.
 */
export const Methods = {
  /** Answers with the text it was given: proves request/response end to end. */
  'system.echo': {
    params: Type.Object({ text: Type.String({ maxLength: 4096 }) }, { additionalProperties: false }),
    result: Type.Object({ text: Type.String(), node: Type.String(), at: Type.Number() }),
    idempotent: true,
  },
  /**
   * Adds `by` to a per-user counter kept for the session's user and answers
   * with the new value. Exists to prove idempotency keys end to end until
   * the domain actors land: a retry with the same `ikey` is applied once.
   */
  'system.increment': {
    params: Type.Object(
      {
        counter: Type.String({ minLength: 1, maxLength: 64 }),
        by: Type.Integer({ minimum: 1, maximum: 1000 }),
      },
      { additionalProperties: false },
    ),
    result: Type.Object({ counter: Type.String(), value: Type.Integer() }),
    idempotent: false,
  },
} as const satisfies Record<string, { params: TSchema; result: TSchema; idempotent: boolean }>;

export type MethodName = keyof typeof Methods;
export type MethodParams<M extends MethodName> = Static<(typeof Methods)[M]['params']>;
export type MethodResult<M extends MethodName> = Static<(typeof Methods)[M]['result']>;

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(Methods, name);
}
