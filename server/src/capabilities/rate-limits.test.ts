import { ShutterError } from '@shutter/protocol';
import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../limits/memory-rate-limiter.js';
import { parseRateLimits } from '../limits/rate-classes.js';
import type { RateLimiter } from '../limits/rate-limiter.js';
import { capabilities } from './index.js';
import { OperationRateLimits, unavailableBuckets } from './rate-limits.js';

const ops = new Map(capabilities.flatMap((c) => c.operations).map((op) => [op.method, op]));

describe('rate classes of operations', () => {
  it('default to read for GET routes and write for the rest; accounts and locations name theirs', () => {
    for (const op of ops.values()) {
      if (
        op.method.startsWith('accounts.') ||
        op.method === 'system.echo' ||
        op.method === 'nearby.updateLocation'
      )
        continue;
      expect(op.rate, op.method).toBe(op.http.method === 'GET' ? 'read' : 'write');
    }
    expect(ops.get('accounts.register')?.rate).toBe('register');
    expect(ops.get('accounts.login')?.rate).toBe('login');
    expect(ops.get('accounts.refresh')?.rate).toBe('session');
    expect(ops.get('accounts.logout')?.rate).toBe('session');
    expect(ops.get('accounts.delete')?.rate).toBe('write');
    expect(ops.get('system.echo')?.rate).toBe('read');
    expect(ops.get('nearby.updateLocation')?.rate).toBe('location');
  });
});

describe('OperationRateLimits', () => {
  const now = 1_000_000;
  const limits = () =>
    new OperationRateLimits(
      new MemoryRateLimiter({ maxKeys: 100 }, () => now),
      parseRateLimits('write=2/60s,register=1/60s').rules,
    );
  const refusal = (p: Promise<void>) =>
    p.then(
      () => undefined,
      (e: ShutterError) => e,
    );

  it('counts per user for user operations and per address for the others; a class that is off takes nothing', async () => {
    const l = limits();
    const write = { rate: 'write', auth: 'user' } as const;
    const ada = { userId: 'ada', session: undefined, address: '10.0.0.1' };
    const bob = { userId: 'bob', session: undefined, address: '10.0.0.1' };
    await l.take(write, ada);
    await l.take(write, ada);
    const e = await refusal(l.take(write, ada));
    expect(e).toBeInstanceOf(ShutterError);
    expect(e).toMatchObject({ code: 'rate_limited', retryAfterMs: 30_000, details: { rateClass: 'write' } });
    expect(e?.message).toBe('too many write requests from this user: 2 per 60 s; retry in 30 s');
    // Same address, another user: a bucket of its own.
    expect(await refusal(l.take(write, bob))).toBeUndefined();

    const register = { rate: 'register', auth: 'none' } as const;
    await l.take(register, { userId: '', session: undefined, address: '10.0.0.1' });
    expect(
      (await refusal(l.take(register, { userId: 'bob', session: undefined, address: '10.0.0.1' })))?.message,
    ).toBe('too many register requests from this address: 1 per 60 s; retry in 60 s');
    expect(
      await refusal(l.take(register, { userId: '', session: undefined, address: '10.0.0.2' })),
    ).toBeUndefined();

    for (let i = 0; i < 50; i++)
      expect(await refusal(l.take({ rate: 'read', auth: 'user' }, ada))).toBeUndefined();
  });
});

describe('a bucket that cannot answer', () => {
  const rules = parseRateLimits('write=1/60s').rules;
  const write = { rate: 'write', auth: 'user' } as const;
  const ada = { userId: 'ada', session: undefined };
  const limiterThat = (take: RateLimiter['take']): RateLimiter =>
    ({ kind: 'redis', take, peek: take, reset: async () => {}, close: () => {} }) as unknown as RateLimiter;

  it('lets the call through after the timeout (a stalled Redis), counted and logged once', async () => {
    const warned: string[] = [];
    const buckets = unavailableBuckets({ warn: (_o, msg) => warned.push(msg) }, 50);
    const l = new OperationRateLimits(
      limiterThat(() => new Promise(() => {})),
      rules,
      buckets,
    );
    const t0 = Date.now();
    await l.take(write, ada);
    await l.take(write, ada);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(buckets.stats.unavailable).toBe(2);
    expect(warned).toEqual(['a rate-limit bucket did not answer: calls go through unlimited meanwhile']);
  });

  it('lets the call through when the bucket fails; a bucket that answers still refuses', async () => {
    const buckets = unavailableBuckets({ warn: () => {} }, 50);
    const failing = new OperationRateLimits(
      limiterThat(() => Promise.reject(new Error('READONLY'))),
      rules,
      buckets,
    );
    await failing.take(write, ada);
    expect(buckets.stats.unavailable).toBe(1);
    const working = new OperationRateLimits(new MemoryRateLimiter({ maxKeys: 10 }), rules, buckets);
    await working.take(write, ada);
    await expect(working.take(write, ada)).rejects.toMatchObject({ code: 'rate_limited' });
    expect(buckets.stats.unavailable).toBe(1);
  });
});
