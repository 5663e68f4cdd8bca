import { ShutterError } from '@shutter/protocol/wire';
import { describe, expect, it } from 'vitest';
import { Session } from './session.js';

interface Call {
  path: string;
  body: Record<string, unknown>;
}

/** A fake accounts server over `fetch`: rotating refresh tokens, one access token per refresh. */
function fakeServer(now: () => number) {
  const calls: Call[] = [];
  let n = 0;
  let live = new Set<string>();
  const tokens = () => {
    n++;
    const refreshToken = `rt-${n}`;
    live.add(refreshToken);
    return {
      accessToken: `at-${n}`,
      accessTokenExpiresAt: now() + 900_000,
      refreshToken,
      refreshTokenExpiresAt: now() + 86_400_000,
    };
  };
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  let down = false;
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    if (down) throw new TypeError('fetch failed');
    const path = new URL(url).pathname;
    const body = JSON.parse(String(init.body)) as Record<string, unknown>;
    calls.push({ path, body });
    await Promise.resolve();
    if (path === '/v1/sessions' || path === '/v1/accounts')
      return body.password === 'right password'
        ? json(path === '/v1/accounts' ? 201 : 200, { user: { id: 'u1' }, ...tokens() })
        : json(401, { error: { code: 'invalid_credentials', message: 'wrong username or password' } });
    if (path === '/v1/sessions/refresh') {
      if (!live.delete(String(body.refreshToken)))
        return json(401, { error: { code: 'refresh_token_invalid', message: 'spent' } });
      return json(200, tokens());
    }
    if (path === '/v1/sessions/logout') {
      const revoked = live.has(String(body.refreshToken));
      live = new Set();
      return json(200, { revoked });
    }
    return json(404, { error: { code: 'not_found', message: path } });
  };
  return {
    calls,
    fetch,
    setDown: (d: boolean) => {
      down = d;
    },
  };
}

function setup(refreshToken?: string) {
  let t = 1_000_000;
  const now = () => t;
  const server = fakeServer(now);
  const saved: (string | undefined)[] = [];
  const session = new Session({
    baseUrl: 'https://api.example.test',
    fetch: server.fetch,
    now,
    ...(refreshToken ? { refreshToken } : {}),
    onRefreshToken: (tok) => saved.push(tok),
  });
  return { session, server, saved, advance: (ms: number) => (t += ms) };
}

describe('Session (the SDK token provider)', () => {
  it('login keeps the tokens; getToken answers the access token until it is near expiry', async () => {
    const { session, server, saved, advance } = setup();
    expect(await session.getToken()).toBe('');
    const s = await session.login('ada', 'right password');
    expect(s.user).toEqual({ id: 'u1' });
    expect(saved).toEqual(['rt-1']);
    expect(await session.getToken()).toBe('at-1');
    advance(900_000 - 60_001);
    expect(await session.getToken()).toBe('at-1');
    expect(server.calls.map((c) => c.path)).toEqual(['/v1/sessions']);
  });

  it('near expiry it refreshes once for every concurrent caller, and rotates the refresh token', async () => {
    const { session, server, saved, advance } = setup();
    await session.login('ada', 'right password');
    advance(900_000 - 59_999);
    const answers = await Promise.all([session.getToken(), session.getToken(), session.getToken()]);
    expect(answers).toEqual(['at-2', 'at-2', 'at-2']);
    expect(server.calls.filter((c) => c.path === '/v1/sessions/refresh')).toEqual([
      { path: '/v1/sessions/refresh', body: { refreshToken: 'rt-1' } },
    ]);
    expect(saved).toEqual(['rt-1', 'rt-2']);
    advance(900_000);
    expect(await session.getToken()).toBe('at-3');
    expect(server.calls.at(-1)?.body).toEqual({ refreshToken: 'rt-2' });
  });

  it('resumes from a stored refresh token; a refused one ends the session (empty token, storage cleared)', async () => {
    const { session, saved } = setup('rt-unknown');
    expect(session.signedIn).toBe(true);
    expect(await session.getToken()).toBe('');
    expect(session.signedIn).toBe(false);
    expect(saved).toEqual([undefined]);
  });

  it('a network failure rejects (the client retries) and keeps the session', async () => {
    const { session, server, advance } = setup();
    await session.login('ada', 'right password');
    advance(900_000);
    server.setDown(true);
    await expect(session.getToken()).rejects.toMatchObject({ code: 'disconnected' });
    server.setDown(false);
    expect(await session.getToken()).toBe('at-2');
  });

  it('server refusals are ShutterErrors with their codes; logout revokes on the server and ends here', async () => {
    const { session, server, saved } = setup();
    const err = await session.login('ada', 'wrong').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShutterError);
    expect(err).toMatchObject({ code: 'invalid_credentials' });
    await session.register('ada', 'right password', 'Ada');
    expect(server.calls.at(-1)).toEqual({
      path: '/v1/accounts',
      body: { username: 'ada', password: 'right password', displayName: 'Ada' },
    });
    await session.logout();
    expect(server.calls.at(-1)).toEqual({ path: '/v1/sessions/logout', body: { refreshToken: 'rt-1' } });
    expect(await session.getToken()).toBe('');
    expect(saved).toEqual(['rt-1', undefined]);
  });
});
