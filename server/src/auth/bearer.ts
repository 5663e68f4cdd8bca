import { createHash, timingSafeEqual } from 'node:crypto';
import { ShutterError } from '@shutter/protocol';
import type { HttpRequest } from '../http/types.js';
import type { TokenVerifier } from './tokens.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Whether an `Authorization` header carries `Bearer <token>`, compared in
 * constant time: both sides are hashed to 32 bytes first, so neither the
 * content nor the length of the token leaks through response timing.
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  if (!token) return false;
  return timingSafeEqual(digest(authorization ?? ''), digest(`Bearer ${token}`));
}

/**
 * Reads the caller of an HTTP request from `Authorization: Bearer <jwt>`,
 * verified by the same verifier as a socket's `hello`; `unauthenticated`
 * without one, the verifier's refusal with a bad one.
 */
export function bearerAuthenticator(verifier: TokenVerifier) {
  return async (req: HttpRequest): Promise<{ userId: string }> => {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!m) throw new ShutterError('unauthenticated', 'send Authorization: Bearer <token>');
    return { userId: (await verifier.verify(m[1]!)).userId };
  };
}
