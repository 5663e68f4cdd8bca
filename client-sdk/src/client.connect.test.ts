import { ShutterError } from '@shutter/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

describe.each(['json', 'msgpack'] as const)('connect over %s', (codec) => {
  it('offers the subprotocol, sends hello first with the token (never in the URL), and reaches connected', async () => {
    const { client, states } = testClient(server, {
      codec,
      token: 'tok-alice',
      clientInfo: { name: 'test-app', version: '1.2.3', platform: 'node' },
    });
    client.connect();
    await client.ready();
    expect(states).toEqual(['connecting', 'connected']);
    expect(client.info).toMatchObject({ user: 'alice', session: 's0', node: 'fake-node' });
    const upgrade = server.upgrades[0];
    expect(upgrade?.url).toBe('/ws');
    const other = codec === 'json' ? 'msgpack' : 'json';
    expect(upgrade?.protocols).toEqual([`shutter.v1.${codec}`, `shutter.v1.${other}`]);
    expect(client.info?.codec).toBe(codec);
    const conn = await server.connection(0);
    expect(conn.codec.name).toBe(codec);
    expect(conn.received[0]).toEqual({
      t: 'hello',
      v: 1,
      token: 'tok-alice',
      client: { name: 'test-app', version: '1.2.3', platform: 'node' },
    });
    expect(conn.invalid).toEqual([]);
  });

  it('calls system.echo and gets the typed result', async () => {
    const { client } = testClient(server, { codec });
    client.connect();
    const result = await client.call('system.echo', { text: 'héllo 📷' });
    expect(result.text).toBe('héllo 📷');
    expect(result.node).toBe('fake-node');
    expect(server.current?.invalid).toEqual([]);
  });
});

describe('authentication failures', () => {
  it('stops on auth_failed when there is no getToken, and ready() rejects with the server code', async () => {
    const { client, states } = testClient(server, { token: 'bad-token' });
    client.connect();
    const err = await client.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShutterError);
    expect((err as ShutterError).code).toBe('auth_failed');
    expect(states).toEqual(['connecting', 'disconnected']);
    expect(client.lastDisconnectReason).toMatchObject({ source: 'server', code: 4401, name: 'auth_failed' });
    await sleep(100);
    expect(server.connections).toHaveLength(1);
  });

  it('gets a fresh token from getToken after auth_failed and token_expired, then connects', async () => {
    const tokens = ['bad-1', 'expired-2', 'tok-bob'];
    let calls = 0;
    const { client } = testClient(server, {
      getToken: async () => tokens[calls++] ?? 'tok-bob',
    });
    client.connect();
    await client.ready();
    expect(calls).toBe(3);
    expect(server.connections.map((c) => c.frames('hello')[0]?.token)).toEqual(tokens);
    expect(client.info?.user).toBe('bob');
  });

  it('stops with no_token when getToken returns an empty string', async () => {
    const { client } = testClient(server, { getToken: async () => '' });
    client.connect();
    await expect(client.ready()).rejects.toMatchObject({ code: 'disconnected' });
    expect(client.lastDisconnectReason).toMatchObject({ source: 'client', name: 'no_token' });
    expect(server.upgrades).toHaveLength(0);
  });

  it('retries with backoff when getToken throws, reporting a token error', async () => {
    let calls = 0;
    const { client, errors } = testClient(server, {
      getToken: async () => {
        calls += 1;
        if (calls === 1) throw new Error('auth service down');
        return 'tok-carol';
      },
    });
    client.connect();
    await client.ready();
    expect(errors.map((e) => e.kind)).toContain('token');
    expect(client.info?.user).toBe('carol');
  });
});

describe('stop close codes', () => {
  it.each([
    [1000, 'normal'],
    [4403, 'forbidden_origin'],
    [4426, 'unsupported_protocol'],
  ])('does not reconnect after %i %s', async (code, name) => {
    const { client, states } = testClient(server);
    const disconnected = new Promise((resolve) => client.on('disconnected', resolve));
    client.connect();
    await client.ready();
    server.current?.close(code, name);
    expect(await disconnected).toMatchObject({ source: 'server', code, name, action: 'stop' });
    await sleep(150);
    expect(server.connections).toHaveLength(1);
    expect(states).toEqual(['connecting', 'connected', 'disconnected']);
    expect(client.state).toBe('disconnected');
  });

  it('disconnect() closes the socket, stays disconnected and fails calls at once', async () => {
    const { client } = testClient(server);
    client.connect();
    await client.ready();
    client.disconnect();
    expect(client.state).toBe('disconnected');
    await until(() => server.current?.closedAt);
    await expect(client.call('system.echo', { text: 'x' })).rejects.toMatchObject({ code: 'disconnected' });
    await sleep(100);
    expect(server.connections).toHaveLength(1);
  });

  it('connects again after disconnect() + connect()', async () => {
    const { client } = testClient(server);
    client.connect();
    await client.ready();
    client.disconnect();
    client.connect();
    await client.ready();
    expect(server.connections).toHaveLength(2);
  });
});

describe('errors without a request id', () => {
  it('reports them through the error event and keeps the connection', async () => {
    const { client, errors } = testClient(server);
    client.connect();
    await client.ready();
    server.current?.send({ t: 'err', code: 'bad_request', message: 'frame did not match' });
    await until(() => errors.find((e) => e.kind === 'server'));
    const e = errors.find((x) => x.kind === 'server')?.error as ShutterError;
    expect(e.code).toBe('bad_request');
    expect(client.state).toBe('connected');
  });

  it('reports undecodable or unknown frames as decode errors', async () => {
    const { client, errors } = testClient(server, { codec: 'json' });
    client.connect();
    await client.ready();
    // A frame type protocol v1 does not have.
    server.current?.send({ t: 'mystery' } as never);
    await until(() => errors.find((e) => e.kind === 'decode'));
    expect(client.state).toBe('connected');
    expect(await client.call('system.echo', { text: 'still fine' })).toMatchObject({ text: 'still fine' });
  });
});
