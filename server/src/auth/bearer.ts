import { createHash, timingSafeEqual } from 'node:crypto';

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
