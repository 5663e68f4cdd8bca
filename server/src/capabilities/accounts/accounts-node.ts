import { ShutterError } from '@shutter/protocol';
import type { TokenMinter } from '../../auth/tokens.js';
import type { Databases } from '../../storage/databases.js';
import type { CapabilityPorts } from '../operation.js';
import { AccountRows, type ProfileView, toProfile } from './account-rows.js';
import { LoginLimiter } from './login-limiter.js';
import type { PasswordCost } from './passwords.js';
import { type IssuedRefresh, RefreshTokens } from './refresh-tokens.js';
import type { UserRow } from './users.js';

/** What accounts keeps per node: its reads and writes, the login limiter, the password cost. */
export interface AccountsNode {
  rows: AccountRows;
  refresh: RefreshTokens;
  limiter: LoginLimiter;
  cost: PasswordCost;
}

// One per node (keyed by the node's Databases): tests run several nodes in one process.
const nodes = new WeakMap<Databases, AccountsNode>();

export function accountsOf(ports: CapabilityPorts): AccountsNode {
  let a = nodes.get(ports.db);
  if (!a) {
    const auth = ports.config.auth;
    a = {
      rows: new AccountRows(ports.db),
      refresh: new RefreshTokens(ports.db, auth.refreshTokenTtlSeconds),
      limiter: new LoginLimiter(ports.limiter, {
        perUsername: auth.loginFailuresPerUsername,
        perAddress: auth.loginFailuresPerAddress,
        windowMs: auth.loginWindowSeconds * 1000,
      }),
      cost: { memoryKib: auth.argon2MemoryKib, timeCost: auth.argon2TimeCost },
    };
    nodes.set(ports.db, a);
  }
  return a;
}

/** The node's token minter; `forbidden` when it only verifies an identity provider's tokens. */
export function minterOf(ports: CapabilityPorts): TokenMinter {
  if (!ports.tokens)
    throw new ShutterError(
      'forbidden',
      'accounts are managed by the identity provider: this server only verifies its tokens',
    );
  return ports.tokens;
}

export interface AccessToken {
  accessToken: string;
  accessTokenExpiresAt: number;
}

export async function mintAccess(ports: CapabilityPorts, userId: string): Promise<AccessToken> {
  const t = await minterOf(ports).mint(userId, ports.config.auth.accessTokenTtlSeconds);
  return { accessToken: t.token, accessTokenExpiresAt: t.expiresAt };
}

/** A new session of `user`: an access token and the first refresh token of a new family. */
export async function startSession(
  ports: CapabilityPorts,
  user: UserRow,
): Promise<{ user: ProfileView } & AccessToken & IssuedRefresh> {
  const access = await mintAccess(ports, user.id);
  const refresh = await accountsOf(ports).refresh.start(user.id);
  return { user: toProfile(user), ...access, ...refresh };
}
