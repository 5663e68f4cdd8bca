import { type TSchema, Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../ids.js';

/**
 * The `accounts` capability's methods (served by
 * `server/src/capabilities/accounts/`): registration, sessions (login,
 * rotating refresh tokens, logout), profiles and account deletion.
 *
 * Usernames are checked by the server (`username_invalid`,
 * `username_reserved`), not by the schema, so a bad name gets its own code;
 * the schema bounds only the length of what it will read.
 */

/** A username as typed: the server checks its grammar (3–30 of `a-z 0-9 . _`, any case). */
const Username = Type.String({ minLength: 1, maxLength: 64 });
/** A password as typed: the server checks 8–128 characters and the common-password list. */
const Password = Type.String({ minLength: 1, maxLength: 256 });
const UserId = Type.String({ pattern: ID_PATTERN });

/** A profile as anyone may read it. */
export const PublicProfile = Type.Object({
  id: UserId,
  username: Type.String(),
  displayName: Type.String(),
  bio: Type.String(),
  /** A ready media item of the user's (`GET /v1/media/{id}` for its variants), or null. */
  avatarMediaId: Type.Union([Type.String(), Type.Null()]),
  private: Type.Boolean(),
  followerCount: Type.Integer(),
  followingCount: Type.Integer(),
  postCount: Type.Integer(),
  /** ms since the Unix epoch */
  createdAt: Type.Number(),
});

/** A fresh pair of tokens: the access token for the gateway and the rotating refresh token. */
const Tokens = {
  /** A JWT (`sub` = user id) for `hello`/`auth` on the socket and `Authorization: Bearer` on HTTP. */
  accessToken: Type.String(),
  /** ms since the Unix epoch */
  accessTokenExpiresAt: Type.Number(),
  /** Opaque; single use: `accounts.refresh` answers a new one. Keep it secret. */
  refreshToken: Type.String(),
  /** ms since the Unix epoch */
  refreshTokenExpiresAt: Type.Number(),
};

/** What registration and login answer. */
export const SessionResult = Type.Object({ user: PublicProfile, ...Tokens });

export const AccountsMethods = {
  /** Creates an account and signs it in. `POST /v1/accounts` → 201. */
  'accounts.register': {
    params: Type.Object(
      {
        username: Username,
        password: Password,
        displayName: Type.Optional(Type.String({ maxLength: 64 })),
      },
      { additionalProperties: false },
    ),
    result: SessionResult,
    idempotent: false,
  },
  /** Signs in with username (any case) and password. `POST /v1/sessions` → 200. */
  'accounts.login': {
    params: Type.Object({ username: Username, password: Password }, { additionalProperties: false }),
    result: SessionResult,
    // A second login makes a second session; the first is left unused and expires.
    idempotent: true,
  },
  /**
   * Exchanges a refresh token for a new access token and a new refresh
   * token; the old one is spent. Presenting a spent one revokes its whole
   * session (`refresh_token_invalid`).
   */
  'accounts.refresh': {
    params: Type.Object({ refreshToken: Type.String({ maxLength: 256 }) }, { additionalProperties: false }),
    result: Type.Object(Tokens),
    idempotent: false,
  },
  /** Ends the session the refresh token belongs to (every token of its family). */
  'accounts.logout': {
    params: Type.Object({ refreshToken: Type.String({ maxLength: 256 }) }, { additionalProperties: false }),
    result: Type.Object({ revoked: Type.Boolean() }),
    idempotent: true,
  },
  /** A user's public profile by username (any case). */
  'accounts.profile': {
    params: Type.Object({ username: Username }, { additionalProperties: false }),
    result: PublicProfile,
    idempotent: true,
  },
  /** The caller's own profile. */
  'accounts.me': {
    params: Type.Object({}, { additionalProperties: false }),
    result: PublicProfile,
    idempotent: true,
  },
  /** Changes the caller's profile; absent fields are left as they are. `avatarMediaId: null` removes the avatar. */
  'accounts.update': {
    params: Type.Object(
      {
        displayName: Type.Optional(Type.String({ maxLength: 64 })),
        bio: Type.Optional(Type.String({ maxLength: 150 })),
        avatarMediaId: Type.Optional(
          Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()]),
        ),
        private: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
    result: PublicProfile,
    idempotent: true,
  },
  /** Deletes the caller's account (the password again); its username is free at once. */
  'accounts.delete': {
    params: Type.Object({ password: Password }, { additionalProperties: false }),
    result: Type.Object({ deleted: Type.Boolean() }),
    idempotent: true,
  },
} as const satisfies Record<`accounts.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;
