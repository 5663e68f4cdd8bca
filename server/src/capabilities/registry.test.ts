import {
  ActorSystem,
  ActorTimeout,
  ActorUnavailable,
  MemoryStateStore,
  SingleNodePlacement,
} from '@shutter/actors';
import type { ShutterClient } from '@shutter/client-sdk';
import { MethodIdempotency } from '@shutter/client-sdk';
import type { MethodMap, MethodName, MethodParams, MethodResult } from '@shutter/protocol';
import { ShutterError } from '@shutter/protocol';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { toPublicError } from '../errors.js';
import { silentLogger } from '../log.js';
import { MemoryIdempotencyStore } from './idempotency.js';
import { capabilities } from './index.js';
import {
  type Capability,
  type CapabilityPorts,
  defineCapability,
  defineOperation,
  type OperationHandler,
} from './operation.js';
import { type OperationCall, OperationRegistry } from './registry.js';

const log = silentLogger();
const actors = new ActorSystem({ store: new MemoryStateStore(), placement: new SingleNodePlacement(16) });
afterAll(() => actors.stop());
// The system capability uses none of the storage or media ports.
const ports = { nodeId: 'n1', actors, log, askTimeoutMs: 1000, now: () => 42 } as unknown as CapabilityPorts;

/** A registry of `caps` plus every real capability they do not replace (each protocol method needs an operation). */
function registry(caps: readonly Capability[] = capabilities, checkResults = true) {
  const rest = capabilities.filter((c) => !caps.some((x) => x.name === c.name));
  return new OperationRegistry([...caps, ...rest], {
    ports,
    idempotency: new MemoryIdempotencyStore(60_000),
    checkResults,
  });
}

const alice: OperationCall = {
  caller: { userId: 'alice', session: 's1' },
  params: {},
  idempotencyKey: undefined,
  via: 'ws',
};

/** A `system` capability whose echo runs `echo` (to make handlers fail on purpose). */
function systemWith(echo: OperationHandler<'system.echo'>, http = '/v1/counters/{counter}/increment') {
  return defineCapability({
    name: 'system',
    description: 'test',
    operations: [
      defineOperation({
        method: 'system.echo',
        summary: 'e',
        http: { method: 'POST', path: '/e' },
        auth: 'user',
        handler: echo,
      }),
      defineOperation({
        method: 'system.increment',
        summary: 'i',
        http: { method: 'POST', path: http },
        auth: 'user',
        handler: async (_ctx, p) => ({ counter: p.counter, value: p.by }),
      }),
    ],
  });
}

describe('OperationRegistry: what it refuses to start with', () => {
  it('a protocol method no operation serves', () => {
    const onlyEcho = defineCapability({ ...systemWith(async () => ({ text: '', node: '', at: 0 })) });
    expect(() => registry([{ ...onlyEcho, operations: onlyEcho.operations.slice(0, 1) }])).toThrow(
      'no operation serves system.increment',
    );
  });
  it('a method registered twice, and a capability whose operation is not named after it', () => {
    const s = systemWith(async () => ({ text: '', node: '', at: 0 }));
    expect(() => registry([s, s])).toThrow('registered twice');
    expect(() => defineCapability({ ...s, name: 'feed' })).toThrow('must be named feed.<verb>');
  });
  it('a path parameter that is not a string param', () => {
    expect(() => registry([systemWith(async () => ({ text: '', node: '', at: 0 }), '/v1/c/{by}')])).toThrow(
      'path parameter {by} is not a string param',
    );
  });
});

describe('OperationRegistry.call', () => {
  const r = registry();
  it('dispatches to the handler with the caller in the context', async () => {
    expect(await r.call('system.echo', { ...alice, params: { text: 'hi' } })).toEqual({
      text: 'hi',
      node: 'n1',
      at: 42,
    });
  });
  it('refuses unknown methods, params that fail the schema, and unclean text', async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: ShutterError) => `${e.code}: ${e.message}`,
      );
    expect(await code(r.call('system.nope', alice))).toBe('unknown_method: no method named system.nope');
    expect(await code(r.call('toString', alice))).toMatch(/^unknown_method/);
    // Absent params mean {}: text is then missing. null is a value, and not an object.
    expect(await code(r.call('system.echo', { ...alice, params: undefined }))).toMatch(
      /^bad_request: params\/text/,
    );
    expect(await code(r.call('system.echo', { ...alice, params: null }))).toMatch(/^bad_request: params/);
    expect(await code(r.call('system.echo', { ...alice, params: { text: 'a\u0000b' } }))).toBe(
      'bad_request: params/text: the string holds NUL (U+0000)',
    );
    expect(await code(r.call('system.echo', { ...alice, params: { text: '\ud800' } }))).toMatch(
      /lone surrogate/,
    );
  });
  it('an anonymous caller cannot call a user operation', async () => {
    await expect(
      r.call('system.echo', { ...alice, caller: { userId: '', session: undefined }, params: { text: 'x' } }),
    ).rejects.toMatchObject({ code: 'unauthenticated' });
  });
  it('checks results against the schema when asked', async () => {
    const wrong = systemWith(async () => ({ text: 1 }) as never);
    await expect(registry([wrong]).call('system.echo', { ...alice, params: { text: 'x' } })).rejects.toThrow(
      'system.echo answered a result its schema refuses: result/',
    );
    expect(await registry([wrong], false).call('system.echo', { ...alice, params: { text: 'x' } })).toEqual({
      text: 1,
    });
  });
  it('a non-idempotent call with a key runs once per key (same params), conflict with others', async () => {
    let runs = 0;
    const s = defineCapability({
      ...systemWith(async () => ({ text: '', node: '', at: runs++ })),
    });
    const inc = defineOperation({
      method: 'system.increment',
      summary: 'i',
      http: { method: 'POST', path: '/i' },
      auth: 'user',
      handler: async (_c, p) => ({ counter: p.counter, value: ++runs }),
    });
    const reg = registry([{ ...s, operations: [s.operations[0]!, inc] }]);
    const call = { ...alice, params: { counter: 'c', by: 1 }, idempotencyKey: 'k-000000001' };
    expect(await reg.call('system.increment', call)).toEqual({ counter: 'c', value: 1 });
    expect(await reg.call('system.increment', call)).toEqual({ counter: 'c', value: 1 });
    await expect(
      reg.call('system.increment', { ...call, params: { counter: 'c', by: 2 } }),
    ).rejects.toMatchObject({ code: 'conflict' });
    // Idempotent operations are not remembered: each call runs.
    await reg.call('system.echo', { ...alice, params: { text: 'x' }, idempotencyKey: 'k-000000002' });
    await reg.call('system.echo', { ...alice, params: { text: 'x' }, idempotencyKey: 'k-000000002' });
    expect(runs).toBe(3);
  });
});

describe('one error edge: what a handler throws becomes what the client sees in toPublicError', () => {
  const edge = async (thrown: unknown) => {
    const r = registry([
      systemWith(async () => {
        throw thrown;
      }),
    ]);
    const err = await r.call('system.echo', { ...alice, params: { text: 'x' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    return toPublicError(err, log, {});
  };
  it('actor runtime errors get protocol codes, untranslated by the handler', async () => {
    expect(await edge(new ActorTimeout('counter/a', 0))).toMatchObject({ code: 'timeout' });
    expect(await edge(new ActorUnavailable('moving'))).toMatchObject({
      code: 'unavailable',
      retryAfterMs: 250,
    });
  });
  it('a public ShutterError passes; anything else is masked as internal_error with a correlation id', async () => {
    expect(await edge(new ShutterError('not_found', 'no such post'))).toEqual({
      code: 'not_found',
      message: 'no such post',
    });
    const masked = await edge(new Error('db password in here'));
    expect(masked).toMatchObject({ code: 'internal_error', message: 'internal error' });
    expect(masked.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("the SDK calls every registered operation with the schemas' types", () => {
  it("runtime: the SDK method list is the registry's, with the same idempotency", () => {
    const ops = capabilities.flatMap((c) => c.operations);
    expect(Object.keys(MethodIdempotency).sort()).toEqual(ops.map((o) => o.method).sort());
    for (const op of ops)
      expect([op.method, MethodIdempotency[op.method]]).toEqual([op.method, op.idempotent]);
  });
  it('types: call<M> takes MethodParams<M> and resolves to MethodResult<M>, for every method', () => {
    // Checked by the type-check (tsc): a difference fails `npm run typecheck`.
    type Call<M extends MethodName> = (client: ShutterClient) => typeof client.call<M>;
    type SdkMap = {
      [M in MethodName]: {
        params: Parameters<ReturnType<Call<M>>>[1];
        result: Awaited<ReturnType<ReturnType<Call<M>>>>;
      };
    };
    type ServerMap = {
      [M in MethodName]: {
        params: Parameters<OperationHandler<M>>[1];
        result: Awaited<ReturnType<OperationHandler<M>>>;
      };
    };
    expectTypeOf<SdkMap>().toEqualTypeOf<MethodMap>();
    expectTypeOf<ServerMap>().toEqualTypeOf<MethodMap>();
    expectTypeOf<MethodParams<'system.increment'>>().toEqualTypeOf<{ counter: string; by: number }>();
    expectTypeOf<MethodResult<'system.increment'>>().toEqualTypeOf<{ counter: string; value: number }>();
  });
});
