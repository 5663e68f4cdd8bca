import { ShutterError } from '@shutter/protocol';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { HsMinter, JwtVerifier } from './tokens.js';

const secret = new TextEncoder().encode('a-test-secret-of-some-length-0123456789');
const verifier = new JwtVerifier({ secret });

/** A token signed with the right key whose claims are exactly `claims` (plus `exp`). */
function signed(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ exp: Math.floor(Date.now() / 1000) + 600, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(secret);
}

async function refusal(token: string): Promise<unknown> {
  try {
    await verifier.verify(token);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('JwtVerifier: the sub claim (issue 7)', () => {
  it.each([
    ['a number', 4242],
    ['an array holding a valid id', ['u4242']],
    ['a boolean', true],
    ['an object', { id: 'u1' }],
    ['null', null],
    ['an empty string', ''],
    ['a string outside the grammar', 'a b'],
  ])('refuses %s with auth_failed', async (_what, sub) => {
    const e = await refusal(await signed({ sub }));
    expect(e).toBeInstanceOf(ShutterError);
    expect((e as ShutterError).code).toBe('auth_failed');
  });

  it('accepts a string user id, and a minted token speaks for it', async () => {
    expect((await verifier.verify(await signed({ sub: '4242' }))).userId).toBe('4242');
    const { token } = await new HsMinter(secret).mint('u_42.x-y', 60);
    expect(await verifier.verify(token)).toMatchObject({ userId: 'u_42.x-y' });
  });
});
