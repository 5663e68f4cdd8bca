import { defineActor } from '../runtime/actor-type.js';

/**
 * A named counter per user (`<user>:<name>`): the smallest actor that changes
 * durable state, behind the `system.increment` method. It proves the whole
 * path — gateway, idempotency key, actor turn, group commit, acknowledgement
 * after commit — until the user and photo actors land.
 */
export const CounterActor = defineActor({
  name: 'counter',
  initialState: () => ({ value: 0 }),
  handlers: {
    add: (ctx, msg: { by: number }) => {
      const value = ctx.state.value + msg.by;
      ctx.setState({ value });
      return value;
    },
    get: (ctx) => ctx.state.value,
  },
});
