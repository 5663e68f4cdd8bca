import { createClient, httpBaseUrl, Session } from '@shutter/client-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ShutterNode } from '../src/node.js';
import { FAST_ARGON2, http } from './helpers/accounts-http.js';
import { startTestNode, wsUrl } from './helpers/test-node.js';

/** The SDK's Session against a real node: register, the client on its tokens, refresh rotating them. */
describe('accounts through the SDK session helper', () => {
  let node: ShutterNode;
  beforeAll(async () => {
    node = await startTestNode('uws', { ...FAST_ARGON2, AUTH_ACCESS_TTL_SECONDS: '60' });
  });
  afterAll(() => node.shutdown());

  it('registers, connects the client with getToken, refreshes near expiry and persists each new refresh token', async () => {
    const saved: (string | undefined)[] = [];
    // Refresh when less than 58 of the 60 s are left: after two seconds.
    const session = new Session({
      baseUrl: httpBaseUrl(wsUrl(node)),
      marginMs: 58_000,
      onRefreshToken: (t) => saved.push(t),
    });
    const s = await session.register('Sdk.User', 'a good long password', 'SDK');
    expect(s.user).toMatchObject({ username: 'Sdk.User', displayName: 'SDK' });
    expect(saved).toEqual([s.refreshToken]);

    const client = createClient({
      url: wsUrl(node),
      getToken: session.getToken,
      WebSocket: WebSocket as never,
    });
    try {
      client.connect();
      await client.ready(5000);
      expect(await client.api.accounts.me({})).toMatchObject({ id: s.user.id, username: 'Sdk.User' });

      const first = await session.getToken();
      expect(first).toBe(s.accessToken);
      await new Promise((r) => setTimeout(r, 2100));
      const next = await session.getToken();
      expect(next).not.toBe(first);
      expect(saved).toHaveLength(2);
      expect(saved[1]).not.toBe(s.refreshToken);
      expect((await http(node, 'GET', '/v1/me', undefined, next)).body.id).toBe(s.user.id);
      // The first refresh token was spent: reusing it (a thief's copy) ends the session for everyone.
      const reuse = await http(node, 'POST', '/v1/sessions/refresh', { refreshToken: s.refreshToken });
      expect(reuse.body.error.code).toBe('refresh_token_invalid');
      await new Promise((r) => setTimeout(r, 2100));
      expect(await session.getToken()).toBe('');
      expect(saved.at(-1)).toBeUndefined();
    } finally {
      client.disconnect();
    }
  });

  it('login with a wrong password rejects with invalid_credentials; logout ends the session', async () => {
    const session = new Session({ baseUrl: node.url });
    await session.register('sdk_second', 'another good password');
    const other = new Session({ baseUrl: node.url });
    await expect(other.login('SDK_SECOND', 'not the password')).rejects.toMatchObject({
      code: 'invalid_credentials',
    });
    const s = await other.login('SDK_SECOND', 'another good password');
    await other.logout();
    expect(await other.getToken()).toBe('');
    const r = await http(node, 'POST', '/v1/sessions/refresh', { refreshToken: s.refreshToken });
    expect(r.body.error.code).toBe('refresh_token_invalid');
  });
});
