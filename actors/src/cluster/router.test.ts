import { describe, expect, it } from 'vitest';
import { ShardNotOwned } from '../runtime/errors.js';
import { MemoryBus } from '../runtime/memory-bus.js';
import type { ActorEnvelope } from '../runtime/placement.js';
import { newCounters } from './context.js';
import { MAX_BATCH, Router } from './router.js';

const env = (id: string): ActorEnvelope => ({
  type: 't',
  id,
  msg: { type: 'm' },
  kind: 'ask',
  deadline: Date.now() + 2000,
});

function pair() {
  const bus = new MemoryBus();
  let requests = 0;
  const request = bus.request.bind(bus);
  bus.request = (s, p, o) => {
    requests++;
    return request(s, p, o);
  };
  const a = new Router(bus, 'x', 'a', newCounters(), () => 0);
  const bCounters = newCounters();
  const b = new Router(bus, 'x', 'b', bCounters, () => 0);
  b.start(async (e) => {
    if (e.id === 'elsewhere') throw new ShardNotOwned(7);
    if (e.id === 'boom') throw new Error('secret detail');
    return `hi ${e.id}`;
  });
  return { a, bCounters, requests: () => requests };
}

describe('Router', () => {
  it('sends the forwards of one turn to one node as one request, answers each on its own', async () => {
    const { a, bCounters, requests } = pair();
    const ids = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const results = await Promise.allSettled(
      [...ids, 'elsewhere', 'boom'].map((id) => a.forward('b', env(id), Date.now() + 2000)),
    );
    expect(requests()).toBe(1);
    expect(bCounters.received).toBe(12);
    expect(results.slice(0, 10)).toEqual(ids.map((id) => ({ status: 'fulfilled', value: `hi ${id}` })));
    expect(results[10]).toMatchObject({
      status: 'rejected',
      reason: { code: 'shard_not_owned', retryable: true },
    });
    // Not ours to show: generic code, no detail leaks across the wire.
    expect(results[11]).toMatchObject({
      status: 'rejected',
      reason: { code: 'actor_unavailable', retryable: false },
    });
  });

  it('splits large turns into batches of MAX_BATCH and sends a lone forward as it is', async () => {
    const { a, requests } = pair();
    const many = Array.from({ length: MAX_BATCH * 2 + 1 }, (_, i) =>
      a.forward('b', env(`m${i}`), Date.now() + 2000),
    );
    expect(await Promise.all(many)).toHaveLength(MAX_BATCH * 2 + 1);
    expect(requests()).toBe(3);
    expect(await a.forward('b', env('solo'), Date.now() + 2000)).toBe('hi solo');
    expect(requests()).toBe(4);
  });

  it('fails every forward of a batch with bus_no_responders (retryable) when the node is gone, and past deadlines at once', async () => {
    const { a } = pair();
    const gone = await Promise.allSettled([
      a.forward('zz', env('1'), Date.now() + 500),
      a.forward('zz', env('2'), Date.now() + 500),
    ]);
    for (const r of gone)
      expect(r).toMatchObject({ status: 'rejected', reason: { code: 'bus_no_responders' } });
    await expect(a.forward('b', env('late'), Date.now() - 1)).rejects.toMatchObject({
      code: 'actor_timeout',
    });
  });
});

describe('Router when the receiver loses the shard (takeover) with asks in flight', () => {
  it('settles them at once: unsent -> shard_not_owned, keyed -> retryable re-send, unkeyed -> early actor_timeout', async () => {
    const bus = new MemoryBus();
    const a = new Router(bus, 'x', 'a', newCounters(), (_t, id) => (id.startsWith('s7') ? 7 : 1));
    const b = new Router(bus, 'x', 'b', newCounters(), () => 0);
    // A paused owner: it has the messages and never answers.
    b.start(() => new Promise(() => {}));
    const deadline = Date.now() + 10_000;
    const keyed = a.forward('b', { ...env('s7-keyed'), idempotencyKey: 'k1', deadline }, deadline);
    const unkeyed = a.forward('b', { ...env('s7-plain'), deadline }, deadline);
    const otherShard = a.forward('b', { ...env('s1-other'), deadline }, deadline);
    for (const p of [keyed, unkeyed, otherShard]) p.catch(() => {});
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 10));
    expect(a.pending()).toBe(3);
    const started = Date.now();
    a.ownerLost(7, 'b');
    await expect(keyed).rejects.toMatchObject({ code: 'actor_unavailable', retryable: true });
    await expect(unkeyed).rejects.toMatchObject({ code: 'actor_timeout', retryable: false });
    expect(Date.now() - started).toBeLessThan(100);
    // Another shard's ask still waits for its owner.
    expect(a.pending()).toBe(1);
    // Not yet handed to the bus: nothing was sent, so plainly routed again.
    const queued = a.forward('b', { ...env('s7-queued'), deadline }, deadline);
    a.ownerLost(7, 'b');
    await expect(queued).rejects.toMatchObject({ code: 'shard_not_owned', retryable: true });
    // Losing the shard on another node settles nothing sent to b.
    a.ownerLost(1, 'c');
    expect(a.pending()).toBe(1);
  });
});
