import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineActor } from './actor-type.js';
import { MemoryStateStore } from './memory-state-store.js';
import { ActorSystem } from './system.js';

const log: string[] = [];
const Counter = defineActor({
  name: 'counter',
  initialState: () => ({ n: 0 }),
  onActivate: (ctx) => {
    log.push(`activate ${ctx.id} n=${ctx.state.n}`);
  },
  onPassivate: (ctx) => {
    log.push(`passivate ${ctx.id} n=${ctx.state.n}`);
  },
  handlers: {
    inc: (ctx, msg: { by: number }) => {
      ctx.setState({ n: ctx.state.n + msg.by });
      return ctx.state.n;
    },
    get: (ctx) => ctx.state.n,
    slow: async (ctx, msg: { tag: string; ms: number }) => {
      log.push(`start ${msg.tag}`);
      await new Promise((r) => setTimeout(r, msg.ms));
      ctx.setState((s) => ({ n: s.n + 1 }));
      log.push(`end ${msg.tag}`);
      return msg.tag;
    },
    tick: (ctx, msg: { every: number; repeat: boolean }) => {
      ctx.setTimer('t', msg.every, { type: 'inc', by: 1 }, { repeat: msg.repeat });
    },
    untick: (ctx) => ctx.cancelTimer('t'),
    bye: (ctx) => ctx.passivate(),
  },
});

const Reentrant = defineActor({
  name: 're',
  initialState: () => ({ n: 0 }),
  reentrant: true,
  handlers: {
    slow: async (ctx, msg: { tag: string; ms: number }) => {
      log.push(`start ${msg.tag}`);
      await new Promise((r) => setTimeout(r, msg.ms));
      ctx.setState((s) => ({ n: s.n + 1 }));
      log.push(`end ${msg.tag}`);
      return ctx.state.n;
    },
    get: (ctx) => ctx.state.n,
  },
});

describe('ActorSystem (local)', () => {
  let store: MemoryStateStore;
  let sys: ActorSystem;
  beforeEach(() => {
    log.length = 0;
    store = new MemoryStateStore();
    sys = new ActorSystem({ store, idleMs: 1_000 }).register(Counter).register(Reentrant);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await sys.stop();
  });

  it('activates on the first message, keeps state between messages, and types replies', async () => {
    const c = sys.ref(Counter, 'a');
    expect(sys.stats().activations).toBe(0);
    const one: number = await c.ask({ type: 'inc', by: 2 });
    expect(one).toBe(2);
    expect(await c.ask({ type: 'inc', by: 3 })).toBe(5);
    expect(await c.ask({ type: 'get' })).toBe(5);
    expect(await sys.ref(Counter, 'b').ask({ type: 'get' })).toBe(0);
    expect(log).toEqual(['activate a n=0', 'activate b n=0']);
    const s = sys.stats();
    expect(s.activations).toBe(2);
    expect(s.activated).toBe(2);
    expect(s.messagesHandled).toBe(4);
    expect(s.turnTime.count).toBe(4);
    expect(s.mailboxDepth).toBe(0);
  });

  it('handles tells in order, one at a time', async () => {
    const c = sys.ref(Counter, 'a');
    for (let i = 0; i < 10; i++) c.tell({ type: 'inc', by: 1 });
    expect(await c.ask({ type: 'get' })).toBe(10);
  });

  it('never interleaves two turns of one actor, even when a handler awaits', async () => {
    const c = sys.ref(Counter, 'a');
    const r = await Promise.all([
      c.ask({ type: 'slow', tag: 'x', ms: 20 }),
      c.ask({ type: 'slow', tag: 'y', ms: 1 }),
    ]);
    expect(r).toEqual(['x', 'y']);
    expect(log.filter((l) => !l.startsWith('activate'))).toEqual(['start x', 'end x', 'start y', 'end y']);
    expect(await c.ask({ type: 'get' })).toBe(2);
  });

  it('interleaves turns of a reentrant type, and updater setState loses no update', async () => {
    vi.useFakeTimers();
    const c = sys.ref(Reentrant, 'a');
    const both = Promise.all([
      c.ask({ type: 'slow', tag: 'x', ms: 20 }),
      c.ask({ type: 'slow', tag: 'y', ms: 1 }),
    ]);
    await vi.advanceTimersByTimeAsync(50);
    await both;
    expect(log).toEqual(['start x', 'start y', 'end y', 'end x']);
    expect(await c.ask({ type: 'get' })).toBe(2);
  });

  it('refuses unknown messages and unregistered types with typed errors', async () => {
    const c = sys.ref(Counter, 'a');
    const bad = { type: 'nope' } as unknown as { type: 'get' };
    await expect(c.ask(bad)).rejects.toMatchObject({ code: 'actor_unknown_message' });
    const Other = defineActor({ name: 'other', initialState: () => 0, handlers: {} });
    expect(() => sys.ref(Other, 'x')).toThrow(expect.objectContaining({ code: 'actor_unknown_type' }));
    await expect(sys.send('ghost', 'x', { type: 'get' }, 'ask')).rejects.toMatchObject({
      code: 'actor_unknown_type',
    });
  });

  it('passivates after the idle time, saving state first, and reactivates from the store', async () => {
    vi.useFakeTimers();
    const sys2 = new ActorSystem({ store, idleMs: 1_000 }).register(Counter);
    const c = sys2.ref(Counter, 'p');
    await c.ask({ type: 'inc', by: 7 });
    await vi.advanceTimersByTimeAsync(900);
    expect(sys2.stats().activations).toBe(1);
    await vi.advanceTimersByTimeAsync(400);
    expect(sys2.stats()).toMatchObject({ activations: 0, passivated: 1 });
    expect(log).toEqual(['activate p n=0', 'passivate p n=7']);
    expect((await store.load('counter', 'p'))?.state).toMatchObject({ state: { n: 7 } });
    expect(await c.ask({ type: 'get' })).toBe(7);
    expect(log.at(-1)).toBe('activate p n=7');
    await sys2.stop();
  });

  it('passivates on request once the turn ends', async () => {
    const c = sys.ref(Counter, 'q');
    await c.ask({ type: 'inc', by: 1 });
    await c.ask({ type: 'bye' });
    await vi.waitFor(() => expect(sys.stats().passivated).toBe(1));
    expect(await c.ask({ type: 'get' })).toBe(1);
  });

  it('runs timers as turns, repeating or once, cancels them on passivation, and they do not keep actors alive', async () => {
    vi.useFakeTimers();
    const sys2 = new ActorSystem({ store, idleMs: 1_000 }).register(Counter);
    const c = sys2.ref(Counter, 't');
    await c.ask({ type: 'tick', every: 100, repeat: false });
    await vi.advanceTimersByTimeAsync(350);
    expect(await c.ask({ type: 'get' })).toBe(1);
    await c.ask({ type: 'tick', every: 100, repeat: true });
    await vi.advanceTimersByTimeAsync(350);
    expect(await c.ask({ type: 'get' })).toBe(4);
    await c.ask({ type: 'untick' });
    await vi.advanceTimersByTimeAsync(300);
    expect(await c.ask({ type: 'get' })).toBe(4);
    // A repeating timer: the actor still passivates after its idle time, and the timer dies with it.
    await c.ask({ type: 'tick', every: 100, repeat: true });
    await vi.advanceTimersByTimeAsync(1_300);
    expect(sys2.stats().activations).toBe(0);
    const saved = (await store.load('counter', 't'))?.state as { state: { n: number } };
    await vi.advanceTimersByTimeAsync(1_000);
    expect(((await store.load('counter', 't'))!.state as { state: { n: number } }).state.n).toBe(
      saved.state.n,
    );
    expect(sys2.stats().activations).toBe(0);
    await sys2.stop();
  });

  it('counts mailbox depth while messages wait behind a slow turn', async () => {
    const c = sys.ref(Counter, 'm');
    const slow = c.ask({ type: 'slow', tag: 's', ms: 200 });
    const rest = [1, 2, 3].map(() => c.ask({ type: 'inc', by: 1 }));
    await vi.waitFor(() => expect(log).toContain('start s'), { interval: 2 });
    expect(sys.stats().mailboxDepth).toBe(3);
    await Promise.all([slow, ...rest]);
    expect(sys.stats().mailboxDepth).toBe(0);
  });
});
