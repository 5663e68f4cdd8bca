import { type ActorSystem, CounterActor } from '@shutter/actors';
import { toClientError } from './actor-errors.js';
import type { IdempotencyStore } from './idempotency.js';
import type { MethodTable } from './methods.js';

/**
 * The `system.*` methods: proofs of the request path until the domain
 * methods land. `system.increment` asks the user's counter actor: the answer
 * comes after the change is committed, and an idempotency key makes a retry —
 * on this node or any other, before or after the actor moved — apply once.
 */
export function systemMethods(
  actors: ActorSystem,
  idempotency: IdempotencyStore,
  askTimeoutMs: number,
  now: () => number = Date.now,
): Pick<MethodTable, 'system.echo' | 'system.increment'> {
  return {
    'system.echo': async (ctx, params) => ({ text: params.text, node: ctx.nodeId, at: now() }),
    'system.increment': async (ctx, params) => {
      const ask = async () => {
        try {
          const value = await actors.ref(CounterActor, `${ctx.userId}:${params.counter}`).ask(
            { type: 'add', by: params.by },
            {
              deadlineMs: askTimeoutMs,
              ...(ctx.idempotencyKey ? { idempotencyKey: `system.increment:${ctx.idempotencyKey}` } : {}),
            },
          );
          return { counter: params.counter, value };
        } catch (e) {
          throw toClientError(e);
        }
      };
      if (!ctx.idempotencyKey) return ask();
      // The node-local store answers same-node retries at once and refuses a key reused with other params.
      return idempotency.once(
        `${ctx.userId}:system.increment`,
        ctx.idempotencyKey,
        JSON.stringify(params),
        ask,
      );
    },
  };
}
