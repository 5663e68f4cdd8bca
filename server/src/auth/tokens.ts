import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ShutterError } from '@shutter/protocol';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

/** Who a verified token speaks for, and until when. */
export interface Identity {
  userId: string;
  /** ms since the Unix epoch */
  expiresAt: number;
}

export interface TokenVerifier {
  verify(token: string): Promise<Identity>;
}

export interface TokenMinter {
  mint(userId: string, ttlSeconds: number): Promise<{ token: string; expiresAt: number }>;
}

/** User ids become part of stream names (`user:<id>:inbox`), so they follow the segment grammar. */
const USER_ID = /^[A-Za-z0-9_.-]{1,128}$/;
const ASYMMETRIC = ['RS256', 'PS256', 'ES256', 'EdDSA'];

export interface JwtOptions {
  secret?: Uint8Array;
  publicKeyPem?: string;
  issuer?: string;
  audience?: string[];
}

/** Verifies JWTs (HS256 with a secret, or RS256/PS256/ES256/EdDSA with a public key); `sub` and `exp` are required. */
export class JwtVerifier implements TokenVerifier {
  private readonly key: Uint8Array | KeyObject;
  private readonly algorithms: string[];

  constructor(private readonly options: JwtOptions) {
    if (options.publicKeyPem) {
      this.key = createPublicKey(options.publicKeyPem);
      this.algorithms = ASYMMETRIC;
    } else if (options.secret) {
      this.key = options.secret;
      this.algorithms = ['HS256'];
    } else throw new Error('JwtVerifier needs a secret or a public key');
  }

  async verify(token: string): Promise<Identity> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: this.algorithms,
        requiredClaims: ['sub', 'exp'],
        ...(this.options.issuer ? { issuer: this.options.issuer } : {}),
        ...(this.options.audience?.length ? { audience: this.options.audience } : {}),
      });
      // jose checks that `sub` is present, not its type: 4242, ["u4242"] or true would pass the
      // grammar once turned into text, and speak for the user "4242". Only a string is a user id.
      const sub: unknown = payload.sub;
      if (typeof sub !== 'string' || !USER_ID.test(sub))
        throw new ShutterError('auth_failed', 'the token subject is not a valid user id');
      return { userId: sub, expiresAt: (payload.exp ?? 0) * 1000 };
    } catch (e) {
      if (e instanceof ShutterError) throw e;
      if (e instanceof joseErrors.JWTExpired)
        throw new ShutterError('token_expired', 'the token has expired');
      throw new ShutterError('auth_failed', 'the token is not valid', { cause: e });
    }
  }
}

/** Mints HS256 tokens for development (POST /v1/dev/token) and tests. */
export class HsMinter implements TokenMinter {
  constructor(
    private readonly secret: Uint8Array,
    private readonly issuer?: string,
    private readonly audience?: string,
  ) {}

  async mint(userId: string, ttlSeconds: number): Promise<{ token: string; expiresAt: number }> {
    if (!USER_ID.test(userId)) {
      throw new ShutterError('bad_request', 'user must be 1–128 of A-Z a-z 0-9 _ . -');
    }
    const now = Math.floor(Date.now() / 1000);
    let jwt = new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds);
    if (this.issuer) jwt = jwt.setIssuer(this.issuer);
    if (this.audience) jwt = jwt.setAudience(this.audience);
    return { token: await jwt.sign(this.secret), expiresAt: (now + ttlSeconds) * 1000 };
  }
}

/** The development secret: random, created once under DATA_DIR and reused across restarts. */
export function devSecret(dataDir: string): Uint8Array {
  const file = join(dataDir, 'dev-jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(file, randomBytes(32).toString('base64url'), { flag: 'wx', mode: 0o600 });
    } catch (e) {
      // Another process created it first: use theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
}
