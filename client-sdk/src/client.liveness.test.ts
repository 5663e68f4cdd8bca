import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeServer } from './testing/fake-server.js';
import { disconnectAll, testClient } from './testing/harness.js';
import { sleep, until } from './testing/wait.js';
import { UpgradeRefusedError } from './upgrade-refusal.js';

let server: FakeServer;
beforeEach(async () => {
  server = await FakeServer.start();
});
afterEach(async () => {
  disconnectAll();
  await server.close();
});

describe('liveness', () => {
  it('pings when idle for pingIntervalMs and stays connected while pongs come back', async () => {
    server.limits.pingIntervalMs = 40;
    const { client } = testClient(server, { probeTimeoutMs: 100 });
    client.connect();
    await client.ready();
    await until(() => (server.current?.frames('ping').length ?? 0) >= 3, 3000, 'three pings');
    expect(server.connections).toHaveLength(1);
    expect(client.state).toBe('connected');
  });

  it('detects a half-open socket (no pong, no frame) and reconnects, resuming subscriptions', async () => {
    server.limits.pingIntervalMs = 40;
    const { client, reconnects } = testClient(server, { probeTimeoutMs: 80 });
    const events: number[] = [];
    const sub = client.subscribe('topic:live', (e) => events.push(e.seq));
    client.connect();
    await until(() => sub.state === 'subscribed');
    server.publish('topic:live', 'a');
    const first = await server.connection(0);
    first.answerPings = false; // the server side stays open but silent
    await until(() => server.connections.length === 2 && client.state === 'connected', 3000, 'a reconnect');
    expect(first.frames('ping').length).toBeGreaterThanOrEqual(1);
    expect(reconnects[0]?.reason).toMatchObject({ source: 'client', name: 'half_open' });
    server.publish('topic:live', 'b');
    await until(() => events.length === 2);
    expect(events).toEqual([1, 2]);
    expect(server.current?.frames('sub')[0]?.from?.seq).toBe(1);
  });
});

describe('re-auth on the open socket', () => {
  it('answers token_expiring with getToken() and an auth frame, without reconnecting', async () => {
    let n = 0;
    const { client } = testClient(server, { getToken: async () => `tok-dave-v${++n}` });
    const reauths: number[] = [];
    client.on('reauth', (r) => reauths.push(r.expiresAt));
    const notices: string[] = [];
    client.on('notice', (m) => notices.push(m.kind));
    client.connect();
    await client.ready();
    const conn = server.current!;
    conn.send({ t: 'notice', kind: 'token_expiring', expiresAt: Date.now() + 60_000 });
    await until(() => reauths.length === 1);
    expect(conn.frames('auth')).toEqual([expect.objectContaining({ token: 'tok-dave-v2' })]);
    expect(notices).toEqual(['token_expiring']);
    expect(client.info?.expiresAt).toBe(reauths[0]);
    expect(server.connections).toHaveLength(1);
    expect(client.state).toBe('connected');
    // The next connection uses the refreshed token.
    conn.close(4001, 'going_away');
    await until(() => server.connections.length === 2 && client.state === 'connected');
    expect(server.current?.frames('hello')[0]?.token).toBe('tok-dave-v2');
  });

  it('reports a refused re-auth as a reauth error', async () => {
    const tokens = ['tok-erin', 'bad-later'];
    const { client, errors } = testClient(server, { getToken: async () => tokens.shift() ?? 'bad' });
    client.connect();
    await client.ready();
    server.current?.send({ t: 'notice', kind: 'token_expiring', expiresAt: Date.now() + 60_000 });
    await until(() => errors.find((e) => e.kind === 'reauth'));
    expect(errors.find((e) => e.kind === 'reauth')?.error).toMatchObject({ code: 'auth_failed' });
  });
});

describe('server-directed reconnects', () => {
  it('resumes at once (small jitter) after slow_consumer', async () => {
    const { client, reconnects, states } = testClient(server, { resumeJitterMs: 20 });
    client.connect();
    await client.ready();
    server.current?.close(4002, 'slow_consumer');
    await until(() => server.connections.length === 2 && client.state === 'connected');
    expect(reconnects[0]?.reason).toMatchObject({ code: 4002, name: 'slow_consumer', action: 'resume' });
    expect(reconnects[0]?.delayMs).toBeLessThan(20);
    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
  });

  it('waits retry_after_ms from the close reason', async () => {
    const { client, reconnects } = testClient(server);
    client.connect();
    await client.ready();
    const first = server.current!;
    first.close(4429, 'rate_limited retry_after_ms=300');
    const second = await server.connection(1);
    expect(reconnects[0]?.reason).toMatchObject({
      name: 'rate_limited',
      action: 'backoff',
      retryAfterMs: 300,
    });
    expect(second.openedAt - (first.closedAt ?? 0)).toBeGreaterThanOrEqual(290);
  });

  it('waits retryAfterMs from a going_away notice before resuming', async () => {
    const { client, reconnects } = testClient(server);
    client.connect();
    await client.ready();
    const first = server.current!;
    first.send({ t: 'notice', kind: 'going_away', retryAfterMs: 250 });
    await sleep(20);
    first.close(4001, 'going_away');
    const second = await server.connection(1);
    expect(reconnects[0]?.reason).toMatchObject({ name: 'going_away', action: 'resume', retryAfterMs: 250 });
    expect(second.openedAt - (first.closedAt ?? 0)).toBeGreaterThanOrEqual(240);
  });

  it('backs off on HTTP 503 at upgrade and on abnormal closes, with growing full-jitter windows', async () => {
    server.rejectUpgrades = 3;
    const { client, reconnects, errors } = testClient(server, {
      backoff: { minMs: 20, maxMs: 1000, factor: 2 },
      random: () => 0.999,
    });
    client.connect();
    await client.ready();
    expect(server.upgrades.map((u) => u.rejected)).toEqual([true, true, true, false]);
    // `ws` exposes the HTTP status: a 503 heals, so it is retried with backoff.
    expect(reconnects.map((r) => r.reason.name)).toEqual([
      'upgrade_unavailable',
      'upgrade_unavailable',
      'upgrade_unavailable',
    ]);
    expect(reconnects.map((r) => r.delayMs)).toEqual([19, 39, 79]);
    const refusal = reconnects[0]?.reason.error;
    expect(refusal).toBeInstanceOf(UpgradeRefusedError);
    expect(refusal).toMatchObject({ status: 503, code: 'unavailable', retryable: true });
    expect(
      errors.filter((e) => e.kind === 'transport').map((e) => (e.error as UpgradeRefusedError).status),
    ).toEqual([503, 503, 503]);
    // The window resets once a connection stayed open for stableConnectionMs.
    await sleep(40);
    server.current?.terminate();
    await until(() => reconnects.length === 4);
    expect(reconnects[3]?.delayMs).toBe(19);
  });

  it('treats an unknown close code as backoff', async () => {
    const { client, reconnects } = testClient(server);
    client.connect();
    await client.ready();
    server.current?.close(4999, 'mystery');
    await until(() => server.connections.length === 2 && client.state === 'connected');
    expect(reconnects[0]?.reason).toMatchObject({ code: 4999, name: 'unknown', action: 'backoff' });
  });
});
