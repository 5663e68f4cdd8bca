import { CounterActor } from '@shutter/actors';
import { defineCapability, defineOperation } from '../operation.js';

/**
 * The `system` capability: proofs of the request path until the domain
 * lands, and the example the recipe in docs/architecture.md follows.
 * Schemas: `protocol/src/methods/system.ts`.
 */
export const system = defineCapability({
  name: 'system',
  description: 'Proofs of the request path: an echo, and a durable per-user counter.',
  operations: [
    defineOperation({
      method: 'system.echo',
      summary: 'Answers with the text it was given, the node that served it and the time.',
      http: { method: 'POST', path: '/v1/system/echo' },
      auth: 'user',
      // Changes nothing: a read, though it is a POST.
      rate: 'read',
      handler: async (ctx, params) => ({ text: params.text, node: ctx.nodeId, at: ctx.now() }),
    }),
    /*
     * Asks the user's counter actor: the answer comes after the change is
     * committed, and an idempotency key makes a retry — on this node or any
     * other, before or after the actor moved — apply once (the registry
     * answers same-node retries; the actor's key table the rest).
     */
    defineOperation({
      method: 'system.increment',
      summary: "Adds `by` to one of the caller's named counters and answers the new value once it is stored.",
      http: { method: 'POST', path: '/v1/counters/{counter}/increment' },
      auth: 'user',
      handler: async (ctx, params) => {
        const value = await ctx.actors.ref(CounterActor, `${ctx.caller.userId}:${params.counter}`).ask(
          { type: 'add', by: params.by },
          {
            deadlineMs: ctx.askTimeoutMs,
            ...(ctx.idempotencyKey ? { idempotencyKey: `system.increment:${ctx.idempotencyKey}` } : {}),
          },
        );
        return { counter: params.counter, value };
      },
    }),
  ],
});
