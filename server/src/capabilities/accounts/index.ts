import { defineCapability } from '../operation.js';
import { accountsOf } from './accounts-node.js';
import { startRemovals } from './deletions.js';
import { me, profile, remove, update } from './profile.js';
import { refreshTokenMigrations } from './refresh-tokens.js';
import { login, logout, refresh, register } from './sessions.js';
import { releaseUsername } from './usernames.js';
import { userMigrations } from './users.js';

/**
 * The `accounts` capability: registration and login (argon2id), sessions
 * (short-lived access tokens the gateway verifies, rotating refresh tokens
 * stored hashed), profiles and account deletion. Schemas:
 * `protocol/src/methods/accounts.ts`. Tables: `users` and `refresh_tokens`
 * in the user's database, `usernames` in the name's (users.ts,
 * refresh-tokens.ts).
 */
export const accounts = defineCapability({
  name: 'accounts',
  description: 'Sign-up, sessions (access and refresh tokens), profiles and account deletion.',
  operations: [register, login, refresh, logout, profile, me, update, remove],
  migrations: [...userMigrations, ...refreshTokenMigrations],
  start: startRemovals,
  async onUserDeleted(ports, userId) {
    // The user row itself goes last, in the removal job, once every capability has removed its data.
    const a = accountsOf(ports);
    const cred = await a.rows.credentials(userId);
    if (cred) await releaseUsername(ports.db, cred.username.toLowerCase(), userId);
    await a.refresh.removeAll(userId);
  },
});
