import { bool, list, str } from './settings.js';

/** Token verification. Tokens are JWTs; `sub` is the user id. */
export const authSettings = {
  jwtSecret: str(
    'AUTH_JWT_SECRET',
    '',
    'HS256 secret (≥ 32 bytes). Empty with dev tokens on: a random secret kept in DATA_DIR.',
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
  issuer: str('AUTH_ISSUER', '', 'Required `iss` claim; empty accepts any.'),
  audience: list('AUTH_AUDIENCE', 'Accepted `aud` values; empty accepts any.'),
  devTokens: bool(
    'AUTH_DEV_TOKENS',
    true,
    'Serve POST /v1/dev/token, which mints a token for any user (never in production).',
  ),
  adminToken: str(
    'ADMIN_TOKEN',
    '',
    'Bearer token of the admin HTTP API (publish, media retry); empty with dev tokens on: allowed from loopback only.',
  ),
};
