import type { ShutterNode } from '../../src/node.js';

/** Settings that keep password hashing fast in tests (the real cost is measured in load-tests). */
export const FAST_ARGON2 = { AUTH_ARGON2_MEMORY_KIB: '1024', AUTH_ARGON2_TIME_COST: '1' };

export interface HttpAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read field by field.
  body: any;
}

/** One JSON request to a node; `token` becomes `Authorization: Bearer`. */
export async function http(
  node: ShutterNode,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<HttpAnswer> {
  const r = await fetch(`${node.url}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

/** Registers `username` and answers the session (fails the test on anything but 201). */
export async function registerUser(node: ShutterNode, username: string, password = 'correct horse battery') {
  const r = await http(node, 'POST', '/v1/accounts', { username, password });
  if (r.status !== 201) throw new Error(`register ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as {
    user: { id: string; username: string };
    accessToken: string;
    accessTokenExpiresAt: number;
    refreshToken: string;
    refreshTokenExpiresAt: number;
  };
}
