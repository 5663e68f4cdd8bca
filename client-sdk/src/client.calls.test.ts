import type { ShutterError } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isValidIdempotencyKey } from './ikey.js';
import { FakeServer } from './testing/fake-server.js';
import { disconnectAll, testClient } from './testing/harness.js';
import { sleep, until } from './testing/wait.js';

let server: FakeServer;
beforeEach(async () => {
  server = await FakeServer.start();
});
afterEach(async () => {
  disconnectAll();
  await server.close();
});

describe('api', () => {
  it('sends client.api.<capability>.<verb>(params) as that method, and answers its result', async () => {
    const seen: Array<{ method: string; params: unknown; ikey: string | undefined }> = [];
    server.onRequest = (req) => {
      seen.push({ method: req.method, params: req.params, ikey: req.ikey });
      return { result: { counter: 'c', value: 7 } };
    };
    const { client } = testClient(server);
    client.connect();
    const r = await client.api.system.increment({ counter: 'c', by: 2 }, { ikey: 'key-12345678' });
    expect(r.value).toBe(7);
    expect(seen).toEqual([
      { method: 'system.increment', params: { counter: 'c', by: 2 }, ikey: 'key-12345678' },
    ]);
    // The same method object each time (no allocation per call site), and one per capability.
    expect(client.api.system).toBe(client.api.system);
  });
});

describe('call()', () => {
  it('rejects with the server error code, retryAfterMs and correlation id', async () => {
    server.onRequest = () => ({
      error: { code: 'rate_limited', message: 'slow down', retryAfterMs: 250, correlationId: 'c-42' },
    });
    const { client } = testClient(server);
    client.connect();
    const err = (await client.call('system.echo', { text: 'x' }).catch((e: unknown) => e)) as ShutterError;
    expect(err.name).toBe('ServerError');
    expect(err.code).toBe('rate_limited');
    expect(err.retryAfterMs).toBe(250);
    expect(err.retryable).toBe(true);
    expect((err as ShutterError & { correlationId?: string }).correlationId).toBe('c-42');
  });

  it('maps an unknown server code to internal_error, keeps the original, and calls it non-retryable', async () => {
    server.onRequest = () => ({ error: { code: 'brand_new_code', message: 'from the future' } });
    const { client } = testClient(server);
    client.connect();
    const err = (await client.call('system.echo', { text: 'x' }).catch((e: unknown) => e)) as ShutterError;
    expect(err).toMatchObject({ code: 'internal_error', serverCode: 'brand_new_code', retryable: false });
  });

  it('also reads the correlation id from details.correlationId (the pre-review shape)', async () => {
    server.onRequest = (req, conn) => {
      conn.send({
        t: 'err',
        id: req.id,
        code: 'internal_error',
        message: 'boom',
        details: { correlationId: 'c-7' },
      });
      return { result: 'ignored' };
    };
    server.muteMethods.add('system.echo');
    const { client } = testClient(server);
    client.connect();
    await expect(client.call('system.echo', { text: 'x' })).rejects.toMatchObject({
      code: 'internal_error',
      correlationId: 'c-7',
      retryable: true,
    });
  });

  it('refuses a request larger than limits.maxFrameBytes locally, keeping the connection', async () => {
    server.limits.maxFrameBytes = 300;
    const { client } = testClient(server, { codec: 'json' });
    client.connect();
    await client.ready();
    await expect(client.call('system.echo', { text: 'é'.repeat(200) })).rejects.toMatchObject({
      code: 'frame_too_large',
    });
    await expect(client.call('system.echo', { text: 'é'.repeat(50) })).resolves.toMatchObject({
      text: 'é'.repeat(50),
    });
    expect(server.current?.frames('req')).toHaveLength(1);
    expect(server.connections).toHaveLength(1);
  });

  it('times out with the timeout code and ignores the late answer', async () => {
    server.muteMethods.add('system.echo');
    const { client } = testClient(server);
    client.connect();
    await client.ready();
    const started = Date.now();
    await expect(client.call('system.echo', { text: 'x' }, { timeoutMs: 100 })).rejects.toMatchObject({
      code: 'timeout',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(client.state).toBe('connected');
  });

  it('uses distinct positive ids for concurrent requests and sends an ikey only for idempotent ones', async () => {
    const { client } = testClient(server);
    client.connect();
    await client.ready();
    const results = await Promise.all([
      client.call('system.echo', { text: 'a' }),
      client.call('system.increment', { counter: 'c', by: 1 }),
      client.call('system.increment', { counter: 'c', by: 1 }, { idempotent: true }),
      client.call('system.echo', { text: 'b' }),
    ]);
    expect(results.map((r) => ('text' in r ? r.text : r.value))).toEqual(['a', 1, 2, 'b']);
    const reqs = server.current?.frames('req') ?? [];
    const ids = reqs.map((r) => r.id);
    expect(new Set(ids).size).toBe(4);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    // echo is idempotent by the protocol, increment only when asked.
    expect(reqs.map((r) => r.ikey !== undefined)).toEqual([true, false, true, true]);
    for (const r of reqs) if (r.ikey) expect(isValidIdempotencyKey(r.ikey)).toBe(true);
  });

  it('refuses an invalid ikey before sending anything', async () => {
    const { client } = testClient(server);
    client.connect();
    await client.ready();
    await expect(client.call('system.echo', { text: 'x' }, { ikey: 'short' })).rejects.toMatchObject({
      code: 'bad_request',
    });
    expect(server.current?.frames('req')).toHaveLength(0);
  });
});

describe('rate limits', () => {
  it('holds app requests for retryAfterMs after a rate_limited error, then sends them in order', async () => {
    const { client } = testClient(server);
    client.connect();
    await client.ready();
    const arrivals: number[] = [];
    server.onRequest = () => {
      arrivals.push(Date.now());
      return undefined;
    };
    const conn = server.current!;
    const sentAt = Date.now();
    conn.send({ t: 'err', code: 'rate_limited', message: 'slow down', retryAfterMs: 200 });
    await sleep(20); // the err has arrived; the pause runs from its arrival
    const [a, b] = await Promise.all([
      client.call('system.echo', { text: '1' }),
      client.call('system.echo', { text: '2' }),
    ]);
    expect([a.text, b.text]).toEqual(['1', '2']);
    expect(arrivals).toHaveLength(2);
    for (const t of arrivals) expect(t - sentAt).toBeGreaterThanOrEqual(199);
  });

  it("a rate class's refusal (details.rateClass) fails that call with its hint and holds nothing else", async () => {
    const { client } = testClient(server);
    client.connect();
    await client.ready();
    server.onRequest = (req) =>
      req.method === 'system.increment'
        ? {
            error: {
              code: 'rate_limited',
              message: 'too many write requests',
              retryAfterMs: 5000,
              details: { rateClass: 'write' },
            },
          }
        : undefined;
    const refused = await client.call('system.increment', { counter: 'c', by: 1 }).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'rate_limited',
      retryAfterMs: 5000,
      details: { rateClass: 'write' },
    });
    const startedAt = Date.now();
    expect((await client.call('system.echo', { text: 'read on' })).text).toBe('read on');
    expect(Date.now() - startedAt).toBeLessThan(1000);
  });
});

describe('requests across a lost connection', () => {
  it('fails a non-idempotent request in flight with disconnected and never resends it', async () => {
    server.muteMethods.add('system.increment');
    const { client } = testClient(server);
    client.connect();
    await client.ready();
    const pending = client.call('system.increment', { counter: 'likes', by: 1 });
    const first = await server.connection(0);
    await first.waitFor('req');
    first.terminate();
    await expect(pending).rejects.toMatchObject({ code: 'disconnected' });
    await client.ready();
    await sleep(50);
    const second = await server.connection(1);
    expect(second.frames('req')).toHaveLength(0);
  });

  it('resends an idempotent request in flight after reconnect with the same ikey; the server applies it once', async () => {
    // The first answer is lost with the socket: the server applied the increment but the client never heard.
    server.muteMethods.add('system.increment');
    const { client } = testClient(server);
    client.connect();
    await client.ready();
    const pending = client.call('system.increment', { counter: 'likes', by: 5 }, { idempotent: true });
    const first = await server.connection(0);
    const sent = await first.waitFor('req');
    expect(server.applied).toHaveLength(1);
    server.muteMethods.clear();
    first.terminate();

    await expect(pending).resolves.toEqual({ counter: 'likes', value: 5 });
    const second = await server.connection(1);
    const resent = second.frames('req');
    expect(resent).toHaveLength(1);
    expect(resent[0]?.ikey).toBe(sent.ikey);
    expect(server.applied).toHaveLength(1);
    expect(server.counters.get('alice/likes')).toBe(5);
    expect(second.invalid).toEqual([]);
  });

  it('queues calls made while reconnecting and sends each exactly once after the next welcome', async () => {
    const { client } = testClient(server, {
      backoff: { minMs: 150, maxMs: 150, factor: 1 },
      random: () => 0.99,
    });
    client.connect();
    await client.ready();
    server.rejectUpgrades = 1000; // reconnect attempts meet a 503 until the calls are queued
    server.current?.terminate();
    await until(() => client.state === 'reconnecting' && server.upgrades.length >= 2);
    const calls = [
      client.call('system.increment', { counter: 'n', by: 1 }),
      client.call('system.increment', { counter: 'n', by: 1 }, { idempotent: true }),
      client.call('system.echo', { text: 'queued' }),
    ];
    await sleep(20);
    expect(server.connections).toHaveLength(1);
    expect(server.connections[0]?.frames('req')).toHaveLength(0);
    server.rejectUpgrades = 0;
    const results = await Promise.all(calls);
    expect(results).toEqual([
      { counter: 'n', value: 1 },
      { counter: 'n', value: 2 },
      expect.objectContaining({ text: 'queued' }),
    ]);
    const rejected = server.upgrades.map((u) => u.rejected);
    expect([rejected[0], rejected[1], rejected.at(-1)]).toEqual([false, true, false]);
    const last = server.current;
    expect(last?.index).toBe(1);
    expect(last?.frames('req').map((r) => r.method)).toEqual([
      'system.increment',
      'system.increment',
      'system.echo',
    ]);
    expect(server.applied).toHaveLength(2);
  });

  it('bounds the outbox: calls beyond outboxLimit fail at once with disconnected', async () => {
    const { client } = testClient(server, { outboxLimit: 2 });
    server.rejectUpgrades = 1000;
    client.connect();
    const a = client.call('system.echo', { text: 'a' }, { timeoutMs: 60_000 });
    const b = client.call('system.echo', { text: 'b' }, { timeoutMs: 60_000 });
    const c = client.call('system.echo', { text: 'c' }, { timeoutMs: 60_000 });
    await expect(c).rejects.toMatchObject({ code: 'disconnected', details: { outbox: 'full' } });
    server.rejectUpgrades = 0;
    await expect(Promise.all([a, b])).resolves.toHaveLength(2);
  });

  it('a queued call times out if no connection comes in time, and is then never sent', async () => {
    server.rejectUpgrades = 1000;
    const { client } = testClient(server);
    client.connect();
    await expect(client.call('system.echo', { text: 'late' }, { timeoutMs: 80 })).rejects.toMatchObject({
      code: 'timeout',
    });
    server.rejectUpgrades = 0;
    await client.ready();
    await sleep(50);
    expect(server.current?.frames('req')).toHaveLength(0);
  });

  it('disconnect() fails queued and in-flight calls with disconnected', async () => {
    server.muteMethods.add('system.echo');
    const { client } = testClient(server);
    client.connect();
    await client.ready();
    const inFlight = client.call('system.echo', { text: 'a' });
    await server.current?.waitFor('req');
    client.disconnect();
    await expect(inFlight).rejects.toMatchObject({ code: 'disconnected' });
  });
});
