import { createHmac } from 'node:crypto';

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/** An HS256 JWT as the server's verifier expects (`sub`, `exp`), signed with the bench server's secret. */
export function mintHs256(secret: string, sub: string, ttlSeconds: number): string {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub, iat: now, exp: now + ttlSeconds }));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}
