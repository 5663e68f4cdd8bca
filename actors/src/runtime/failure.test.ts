import { ShutterError } from '@shutter/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defineActor } from './actor-type.js';
import { ActorHandlerError, fromWireError, toWireError } from './errors.js';
import { MemoryStateStore } from './memory-state-store.js';
import type { SaveOutcome, StateWrite } from './state-store.js';
import { ActorSystem } from './system.js';

const Account = defineActor({
  name: 'account',
  initialState: () => ({ balance: 10, log: [] as string[] }),
  handlers: {
    deposit: (ctx, msg: { amount: number }) => {
      ctx.setState({ ...ctx.state, balance: ctx.state.balance + msg.amount, log: [...ctx.state.log, 'd'] });
      return ctx.state.balance;
    },
    withdraw: (ctx, msg: { amount: number }) => {
      ctx.setState({ ...ctx.state, balance: ctx.state.balance - msg.amount });
      if (ctx.state.balance < 0)
        throw new ShutterError('conflict', 'insufficient funds', { details: { short: -ctx.state.balance } });
      return ctx.state.balance;
    },
    crash: (ctx) => {
      ctx.setState({ ...ctx.state, balance: -1000 });
      throw new Error('secret internals');
    },
    crashLater: async (ctx) => {
      ctx.setState({ ...ctx.state, balance: -1000 });
      await Promise.resolve();
      throw new TypeError('async failure');
    },
    hang: () => new Promise<never>(() => {}),
    get: (ctx) => ctx.state.balance,
  },
});

/** A store whose next `n` batches fail as a whole (the transaction errors). */
class FlakyStore extends MemoryStateStore {
  failBatches = 0;
  override async saveBatch(writes: readonly StateWrite[]): Promise<SaveOutcome[]> {
    if (this.failBatches > 0) {
      this.failBatches--;
      throw new Error('connection reset');
    }
    return super.saveBatch(writes);
  }
}

describe('failure model', () => {
  const systems: ActorSystem[] = [];
  const make = (store = new MemoryStateStore(), onError?: (e: unknown) => void) => {
    const sys = new ActorSystem({
      store,
      defaultDeadlineMs: 1_000,
      stopGraceMs: 50,
      ...(onError ? { onError } : {}),
    }).register(Account);
    systems.push(sys);
    return sys;
  };
  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(systems.splice(0).map((s) => s.stop()));
  });

  it('a handler that throws fails that message only; the state goes back to its last committed value', async () => {
    const a = make().ref(Account, 'x');
    expect(await a.ask({ type: 'deposit', amount: 5 })).toBe(15);
    const err = await a.ask({ type: 'crash' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ActorHandlerError);
    expect(err).toMatchObject({ code: 'actor_handler_error', public: false, handlerCode: undefined });
    expect((err as Error).message).not.toContain('secret');
    expect(((err as Error).cause as Error).message).toBe('secret internals');
    await expect(a.ask({ type: 'crashLater' })).rejects.toMatchObject({ code: 'actor_handler_error' });
    expect(await a.ask({ type: 'get' })).toBe(15);
    expect(await a.ask({ type: 'deposit', amount: 1 })).toBe(16);
  });

  it('passes a public ShutterError code, message and details to the caller, also across the wire', async () => {
    const a = make().ref(Account, 'y');
    const err = await a.ask({ type: 'withdraw', amount: 15 }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'actor_handler_error',
      handlerCode: 'conflict',
      public: true,
      message: 'insufficient funds',
      details: { short: 5 },
    });
    const back = fromWireError(JSON.parse(JSON.stringify(toWireError(err))));
    expect(back).toMatchObject({
      code: 'actor_handler_error',
      handlerCode: 'conflict',
      details: { short: 5 },
    });
    expect(await a.ask({ type: 'get' })).toBe(10);
  });

  it('an ask whose handler never finishes fails with actor_timeout at its deadline', async () => {
    vi.useFakeTimers();
    const a = make().ref(Account, 'h');
    const p = a.ask({ type: 'hang' }, { deadlineMs: 200 }).catch((e: unknown) => e);
    const queued = a.ask({ type: 'get' }, { deadlineMs: 300 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(250);
    expect(await p).toMatchObject({ code: 'actor_timeout', name: 'ActorTimeout' });
    await vi.advanceTimersByTimeAsync(100);
    expect(await queued).toMatchObject({ code: 'actor_timeout' });
  });

  it('retries a failed activation with backoff, reports each failure, then serves', async () => {
    vi.useFakeTimers();
    const store = new MemoryStateStore();
    const errors: unknown[] = [];
    const sys = make(store, (e) => errors.push(e));
    store.failWith = new Error('db down');
    const p = sys.ref(Account, 'z').ask({ type: 'get' }, { deadlineMs: 60_000 });
    await vi.advanceTimersByTimeAsync(200);
    expect(sys.stats().activationFailures).toBeGreaterThanOrEqual(2);
    store.failWith = undefined;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await p).toBe(10);
    expect(errors.length).toBe(sys.stats().activationFailures);
    expect(sys.stats().activated).toBe(1);
  });

  it('an activation that never loads fails its messages with actor_timeout, never hangs, and is dropped', async () => {
    vi.useFakeTimers();
    const store = new MemoryStateStore();
    const sys = make(store);
    store.failWith = new Error('db down');
    const p = sys
      .ref(Account, 'w')
      .ask({ type: 'get' }, { deadlineMs: 500 })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(6_000);
    expect(await p).toMatchObject({ code: 'actor_timeout' });
    expect(sys.stats().activations).toBe(0);
  });

  it('a failed commit never acknowledges: the message is routed again and applied exactly once', async () => {
    const store = new FlakyStore();
    const sys = make(store);
    const a = sys.ref(Account, 'f');
    await a.ask({ type: 'deposit', amount: 1 });
    store.failBatches = 1;
    expect(await a.ask({ type: 'deposit', amount: 5 })).toBe(16);
    expect(sys.stats().stateWriteFailures).toBe(1);
    expect(sys.stats().retries).toBeGreaterThanOrEqual(1);
    expect(((await store.load('account', 'f'))!.state as { state: { balance: number } }).state.balance).toBe(
      16,
    );
  });

  it('a write that loses to another owner (version conflict) drops the stale activation and reapplies on fresh state', async () => {
    const store = new MemoryStateStore();
    const one = make(store).ref(Account, 'v');
    const two = make(store).ref(Account, 'v');
    await one.ask({ type: 'get' });
    await two.ask({ type: 'deposit', amount: 100 });
    // `one` still holds balance 10 at version 0; its write conflicts, it reloads (110) and applies again.
    expect(await one.ask({ type: 'deposit', amount: 1 })).toBe(111);
  });
});
