import { ShutterError } from '@shutter/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../../limits/memory-rate-limiter.js';
import { LoginLimiter, type LoginLimits } from './login-limiter.js';
import { checkPassword, hashPassword, needsRehash, verifyNothing, verifyPassword } from './passwords.js';
import { checkUsername } from './usernames.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof ShutterError ? e.code : `not a ShutterError: ${String(e)}`;
  }
}

describe('usernames', () => {
  it('accepts 3–30 of a-z 0-9 . _ in any case, and claims them lower-cased', () => {
    expect(checkUsername('Ada.Lovelace_1815')).toBe('ada.lovelace_1815');
    expect(checkUsername('abc')).toBe('abc');
    expect(checkUsername('a'.repeat(30))).toBe('a'.repeat(30));
  });
  it.each([
    'ab',
    'a'.repeat(31),
    'has space',
    'dash-ed',
    'émile',
    '.leading',
    'trailing.',
    'two..dots',
    'at@sign',
    '',
  ])('refuses %j as username_invalid', (name) => {
    expect(codeOf(() => checkUsername(name))).toBe('username_invalid');
  });
  it.each([
    'admin',
    'ADMIN',
    'root',
    'api',
    'shutter',
    'm.e',
    'support',
    'ad.min',
    '_support_',
    'log_in',
  ])('refuses %j as username_reserved', (name) => {
    expect(codeOf(() => checkUsername(name))).toBe('username_reserved');
  });
  it('never accepts a name outside the grammar (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (name) => {
        const code = codeOf(() => checkUsername(name));
        if (code === undefined) expect(name).toMatch(/^[A-Za-z0-9._]{3,30}$/);
        else expect(['username_invalid', 'username_reserved']).toContain(code);
      }),
    );
  });
});

describe('passwords', () => {
  it('refuses short, long, common and the username itself as password_too_weak', () => {
    expect(codeOf(() => checkPassword('short7!', 'ada'))).toBe('password_too_weak');
    expect(codeOf(() => checkPassword('x'.repeat(129), 'ada'))).toBe('password_too_weak');
    expect(codeOf(() => checkPassword('Password123', 'ada'))).toBe('password_too_weak');
    expect(codeOf(() => checkPassword('QWERTYUIOP', 'ada'))).toBe('password_too_weak');
    expect(codeOf(() => checkPassword('Ada.Lovelace', 'ada.lovelace'))).toBe('password_too_weak');
    expect(codeOf(() => checkPassword('correct horse battery', 'ada'))).toBeUndefined();
    // Counted in characters, not UTF-16 units: eight emoji are eight characters.
    expect(codeOf(() => checkPassword('📷'.repeat(8), 'ada'))).toBeUndefined();
    expect(codeOf(() => checkPassword('📷'.repeat(7), 'ada'))).toBe('password_too_weak');
  });
  it('hashes with argon2id and verifies only the same password', async () => {
    const cost = { memoryKib: 1024, timeCost: 1 };
    const h = await hashPassword('correct horse battery', cost);
    expect(h).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(await verifyPassword(h, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(h, 'correct horse batterY')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
    expect(await verifyNothing('anything', cost)).toBe(false);
    expect(needsRehash(h, cost)).toBe(false);
    expect(needsRehash(h, { memoryKib: 19_456, timeCost: 1 })).toBe(true);
    expect(needsRehash(h, { memoryKib: 1024, timeCost: 2 })).toBe(true);
    expect(needsRehash('$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA', cost)).toBe(true);
  });
});

describe('LoginLimiter', () => {
  const limiterAt = (clock: () => number, limits: LoginLimits) =>
    new LoginLimiter(new MemoryRateLimiter({ maxKeys: 1000 }, clock), limits);
  const refusal = (p: Promise<void>) =>
    p.then(
      () => undefined,
      (e: unknown) => (e instanceof ShutterError ? e.code : `not a ShutterError: ${String(e)}`),
    );

  it('refuses a username after its limit of failures, then allows one more per window', async () => {
    let now = 1_000_000;
    const l = limiterAt(() => now, { perUsername: 3, perAddress: 100, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      await l.check('ada', '10.0.0.1');
      await l.failed('ada', '10.0.0.1');
      now += 1000;
    }
    const err = await l.check('ada', '10.0.0.2').catch((e: unknown) => e);
    expect((err as ShutterError).code).toBe('rate_limited');
    // The first failure was at 1 000 000; a window later, 1 060 000, one more is allowed; now is 1 003 000.
    expect((err as ShutterError).retryAfterMs).toBe(57_000);
    expect(await refusal(l.check('grace', '10.0.0.1'))).toBeUndefined();
    now += 57_000;
    expect(await refusal(l.check('ada', '10.0.0.1'))).toBeUndefined();
    await l.failed('ada', '10.0.0.1');
    // Only one: the next waits a whole window.
    const again = await l.check('ada', '10.0.0.1').catch((e: unknown) => e);
    expect((again as ShutterError).retryAfterMs).toBe(60_000);
  });
  it('refuses an address after its limit whatever the usernames, and a success clears only the username', async () => {
    const now = 0;
    const l = limiterAt(() => now, { perUsername: 2, perAddress: 4, windowMs: 60_000 });
    for (const u of ['a', 'b', 'c', 'd']) await l.failed(u, '10.0.0.9');
    expect(await refusal(l.check('fresh', '10.0.0.9'))).toBe('rate_limited');
    expect(await refusal(l.check('fresh', '10.0.0.10'))).toBeUndefined();
    await l.failed('e', '10.0.0.10');
    await l.failed('e', '10.0.0.10');
    expect(await refusal(l.check('e', '10.0.0.11'))).toBe('rate_limited');
    await l.succeeded('e');
    expect(await refusal(l.check('e', '10.0.0.11'))).toBeUndefined();
    expect(await refusal(l.check('x', '10.0.0.9'))).toBe('rate_limited');
  });
});
