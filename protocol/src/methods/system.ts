import { type TSchema, Type } from '@sinclair/typebox';

/**
 * The `system` capability's methods: proofs of the request path (served by
 * `server/src/capabilities/system/`). Each capability has one such file;
 * `methods.ts` merges them into the one `Methods` table.
 */
export const SystemMethods = {
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
} as const satisfies Record<`system.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;
