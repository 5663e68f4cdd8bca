import { type Static, type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { UserSummary } from './graph.js';

/**
 * The `nearby` capability's methods (served by
 * `server/src/capabilities/nearby/`): nearby friends, opt-in.
 *
 * A user who turns sharing on (`nearby.updateSettings`) sends their
 * location now and then (`nearby.updateLocation`, over the socket while the
 * app is open); each fix expires after `NEARBY_LOCATION_TTL_MS`. The list
 * (`nearby.list`, and pushed on `nearby:<me>` while the screen is open)
 * holds the caller's friends within a radius of the caller's own latest
 * fix, nearest first, with the distance and the age of each fix. A friend
 * is a MUTUAL follower (both follow the other, active edges, no block
 * either way); a location is shown only when BOTH have sharing on.
 * Coordinates of others are never sent: only distances.
 *
 * Every method here is idempotent (sending a location again just moves
 * the fix).
 */

const params = <P extends TProperties>(props: P) => Type.Object(props, { additionalProperties: false });

/** The radius of a list, in metres: 100 m to 50 km; the default (NEARBY_RADIUS_METERS) is 5 miles. */
export const NEARBY_MIN_RADIUS_METERS = 100;
export const NEARBY_MAX_RADIUS_METERS = 50_000;
const Radius = Type.Integer({ minimum: NEARBY_MIN_RADIUS_METERS, maximum: NEARBY_MAX_RADIUS_METERS });

/** The caller's nearby-friends setting. */
export const NearbySettings = Type.Object({
  /** Whether the caller shares their location with friends (off until turned on). */
  sharing: Type.Boolean(),
  /** When it last changed (ms since the epoch); null if never set. */
  updatedAt: Type.Union([Type.Number(), Type.Null()]),
});

/** One friend on the list. */
export const NearbyFriend = Type.Object({
  user: UserSummary,
  /** Great-circle distance from the caller's fix to the friend's, in whole metres. */
  distanceMeters: Type.Integer({ minimum: 0 }),
  /** When the server received the friend's fix (ms since the epoch, the server's clock). */
  fixAt: Type.Number(),
  /** `asOf − fixAt`: how old the fix was when the list was made. */
  ageMs: Type.Integer({ minimum: 0 }),
  /** The accuracy the friend's device reported, in metres, or null. */
  accuracyMeters: Type.Union([Type.Number(), Type.Null()]),
});

/** The list of friends near the caller. */
export const NearbyList = Type.Object({
  /** The caller's sharing is on (off: `items` is empty; turn it on to see friends). */
  sharing: Type.Boolean(),
  /** The caller has a fix that has not expired (without one, `items` is empty: send a location). */
  located: Type.Boolean(),
  radiusMeters: Type.Integer(),
  /** When the list was made (ms since the epoch, the server's clock). */
  asOf: Type.Number(),
  /** Friends within the radius, nearest first (ties by user id). */
  items: Type.Array(NearbyFriend),
});
export type NearbyList = Static<typeof NearbyList>;

/** An event of `nearby:<id>[:<radius>]`: the list as it is now (sent when it changed, and to a new viewer). */
export const NearbyEvent = Type.Object({ type: Type.Literal('nearby'), ...NearbyList.properties });
export type NearbyEvent = Static<typeof NearbyEvent>;

export const NearbyMethods = {
  /** The caller's setting. `GET /v1/me/nearby`. */
  'nearby.settings': { params: params({}), result: NearbySettings, idempotent: true },
  /**
   * Turns sharing on or off. Off removes the caller's location at once (no
   * friend sees it from then on) and empties their list. `PUT /v1/me/nearby`.
   */
  'nearby.updateSettings': {
    params: params({ sharing: Type.Boolean() }),
    result: NearbySettings,
    idempotent: true,
  },
  /**
   * Stores the caller's location (their fix) until NEARBY_LOCATION_TTL_MS
   * after now, replacing the previous one. `nearby_off` when sharing is
   * off (nothing stored). `PUT /v1/me/location`.
   */
  'nearby.updateLocation': {
    params: params({
      lat: Type.Number({ minimum: -90, maximum: 90 }),
      lon: Type.Number({ minimum: -180, maximum: 180 }),
      /** The device's reported accuracy, in metres. */
      accuracy: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000 })),
    }),
    result: Type.Object({
      /** When the fix was stored (ms since the epoch): friends see it with this `fixAt`. */
      at: Type.Number(),
      /** When it expires unless a newer one replaces it. */
      expiresAt: Type.Number(),
    }),
    idempotent: true,
  },
  /** Friends within `radiusMeters` (default NEARBY_RADIUS_METERS) of the caller's fix, read once. `GET /v1/me/nearby/friends`. */
  'nearby.list': {
    params: params({ radiusMeters: Type.Optional(Radius) }),
    result: NearbyList,
    idempotent: true,
  },
} as const satisfies Record<`nearby.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;
