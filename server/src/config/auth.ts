import { bool, int, list, str } from './settings.js';

/** Token verification (tokens are JWTs; `sub` is the user id) and the operator endpoints' access. */
export const authSettings = {
  jwtSecret: str(
    'AUTH_JWT_SECRET',
    '',
    'HS256 secret (≥ 32 bytes); setting it turns development tokens off. Empty with dev tokens on: a random secret kept in DATA_DIR, one per node (so CLUSTER=true needs this or AUTH_JWT_PUBLIC_KEY).',
    /^(|.{32,})$/s,
    'empty or at least 32 characters',
  ),
  jwtPublicKey: str(
    'AUTH_JWT_PUBLIC_KEY',
    '',
    'PEM public key (RS256, ES256 or EdDSA) used instead of the secret.',
    /^(|-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----\s*)$/,
    'empty or a PEM "BEGIN PUBLIC KEY" block',
  ),
  accessTokenTtlSeconds: int(
    'AUTH_ACCESS_TTL_SECONDS',
    900,
    60,
    86_400,
    'Lifetime of the access tokens the server mints at login and refresh (accounts); the SDK refreshes them before they end.',
  ),
  refreshTokenTtlSeconds: int(
    'AUTH_REFRESH_TTL_SECONDS',
    30 * 86_400,
    3_600,
    365 * 86_400,
    'Lifetime of a refresh token from its issue; each refresh issues a new one, so a session lasts while it is used at least this often.',
  ),
  argon2MemoryKib: int(
    'AUTH_ARGON2_MEMORY_KIB',
    19_456,
    1_024,
    1_048_576,
    'argon2id memory cost of new password hashes, in KiB (OWASP minimum: 19 456 with time cost 2). docs/performance.md gives the logins per second per core it costs.',
  ),
  argon2TimeCost: int('AUTH_ARGON2_TIME_COST', 2, 1, 10, 'argon2id iterations of new password hashes.'),
  loginFailuresPerUsername: int(
    'AUTH_LOGIN_FAILURES_PER_USERNAME',
    10,
    1,
    10_000,
    "Failed logins a username may have before logins to it answer rate_limited; then one more is allowed per AUTH_LOGIN_WINDOW_SECONDS, and a success clears them. Counted across the cluster (Redis with REDIS_URL, else in the node's memory).",
  ),
  loginFailuresPerAddress: int(
    'AUTH_LOGIN_FAILURES_PER_ADDRESS',
    50,
    1,
    100_000,
    "Failed logins allowed per client address in AUTH_LOGIN_WINDOW_SECONDS, refilled evenly over the window; more answer rate_limited. Counted across the cluster (Redis with REDIS_URL, else in the node's memory); behind a load balancer set TRUSTED_PROXIES.",
  ),
  loginWindowSeconds: int('AUTH_LOGIN_WINDOW_SECONDS', 900, 10, 86_400, 'The window of the login limits.'),
  issuer: str('AUTH_ISSUER', '', 'Required `iss` claim; empty accepts any.'),
  audience: list('AUTH_AUDIENCE', 'Accepted `aud` values; empty accepts any.'),
  devTokens: bool(
    'AUTH_DEV_TOKENS',
    true,
    'Serve POST /v1/dev/token, which mints a token for any user, signed with the random development secret in DATA_DIR. Off whenever AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY is set (dev tokens are never signed with a configured key), so never in production; a node with them on says so at start (warn).',
  ),
  adminToken: str(
    'ADMIN_TOKEN',
    '',
    'Bearer token of the admin HTTP API (publish, media retry), compared in constant time; at least 32 characters when NODE_ENV=production. Empty: while development tokens are on, loopback callers only; otherwise (a key configured, or production) the admin API is off (404).',
  ),
  metricsToken: str(
    'METRICS_TOKEN',
    '',
    'Bearer token GET /metrics needs (constant-time compare); at least 32 characters when NODE_ENV=production. Empty: open outside production; in production /metrics is off unless METRICS_LISTEN is set.',
  ),
  metricsListen: str(
    'METRICS_LISTEN',
    '',
    'host:port of a separate plain-HTTP listener that serves GET /metrics (e.g. 127.0.0.1:9464, or 0.0.0.0:9464 on a private network); /metrics then leaves the public port. METRICS_TOKEN, when set, applies there too.',
    /^(|(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5})$/,
    'empty or host:port',
  ),
};
