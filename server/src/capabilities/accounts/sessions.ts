import { newId, randomShard, ShutterError } from '@shutter/protocol';
import { defineOperation } from '../operation.js';
import { accountsOf, mintAccess, minterOf, startSession } from './accounts-node.js';
import { checkPassword, hashPassword, needsRehash, verifyNothing, verifyPassword } from './passwords.js';
import { checkUsername, claimUsername, releaseUsername } from './usernames.js';

const invalidCredentials = () => new ShutterError('invalid_credentials', 'wrong username or password');

/**
 * Registration: the name is claimed first (its database: `forKey`), then
 * the password hashed, then the user row written (the user id's database:
 * `forId`). A crash between claim and row leaves a claim with no user,
 * which a later registration takes over after a grace time (usernames.ts).
 */
export const register = defineOperation({
  method: 'accounts.register',
  summary: 'Creates an account (username, password, display name) and answers its first session.',
  http: { method: 'POST', path: '/v1/accounts', status: 201 },
  auth: 'none',
  rate: 'register',
  handler: async (ctx, p) => {
    minterOf(ctx);
    const key = checkUsername(p.username);
    checkPassword(p.password, p.username);
    const a = accountsOf(ctx);
    // The user lives on a random logical shard: its id carries it.
    const id = newId(randomShard(), ctx.now());
    await claimUsername(ctx.db, key, id);
    try {
      const passwordHash = await hashPassword(p.password, a.cost);
      await a.rows.insert({ id, username: p.username, displayName: p.displayName ?? '', passwordHash });
    } catch (err) {
      await releaseUsername(ctx.db, key, id).catch(() => undefined);
      throw err;
    }
    const user = await a.rows.get(id);
    if (!user) throw new Error(`user ${id} was written and is not there`);
    return startSession(ctx, user);
  },
});

/**
 * Login. Failures count per username and per client address (the limiter
 * answers `rate_limited` before any hashing); an unknown username costs a
 * verification too, so timing does not tell which names exist. A password
 * hashed at another cost than the configured one is rehashed on success.
 */
export const login = defineOperation({
  method: 'accounts.login',
  summary: 'Signs in with username and password; answers a new session.',
  http: { method: 'POST', path: '/v1/sessions' },
  auth: 'none',
  rate: 'login',
  handler: async (ctx, p) => {
    minterOf(ctx);
    const a = accountsOf(ctx);
    const key = p.username.toLowerCase();
    const address = ctx.caller.address ?? '';
    await a.limiter.check(key, address);
    const id = await a.rows.idOf(key);
    const cred = id ? await a.rows.credentials(id) : undefined;
    const ok =
      cred?.passwordHash && !cred.deleted
        ? await verifyPassword(cred.passwordHash, p.password)
        : await verifyNothing(p.password, a.cost);
    const user = ok && id ? await a.rows.get(id) : undefined;
    if (!user) {
      await a.limiter.failed(key, address);
      throw invalidCredentials();
    }
    await a.limiter.succeeded(key);
    // A hash made at another cost (AUTH_ARGON2_* changed since) is replaced now that the password is known.
    if (cred?.passwordHash && needsRehash(cred.passwordHash, a.cost))
      await a.rows.rehash(user.id, cred.passwordHash, await hashPassword(p.password, a.cost));
    return startSession(ctx, user);
  },
});

export const refresh = defineOperation({
  method: 'accounts.refresh',
  summary: 'Exchanges a refresh token for a new access token and a new refresh token (the old one is spent).',
  http: { method: 'POST', path: '/v1/sessions/refresh' },
  auth: 'none',
  rate: 'session',
  handler: async (ctx, p) => {
    minterOf(ctx);
    const a = accountsOf(ctx);
    const next = await a.refresh.rotate(p.refreshToken);
    if (!(await a.rows.get(next.userId))) {
      await a.refresh.revokeAll(next.userId);
      throw new ShutterError('refresh_token_invalid', 'the account no longer exists');
    }
    return {
      ...(await mintAccess(ctx, next.userId)),
      refreshToken: next.refreshToken,
      refreshTokenExpiresAt: next.refreshTokenExpiresAt,
    };
  },
});

export const logout = defineOperation({
  method: 'accounts.logout',
  summary: 'Ends the session a refresh token belongs to (every token of its family).',
  http: { method: 'POST', path: '/v1/sessions/logout' },
  auth: 'none',
  rate: 'session',
  handler: async (ctx, p) => ({ revoked: await accountsOf(ctx).refresh.revoke(p.refreshToken) }),
});

export { invalidCredentials };
