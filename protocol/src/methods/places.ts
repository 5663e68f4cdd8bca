import { type TSchema, Type } from '@sinclair/typebox';
import { FoundPosts } from './search.js';

/**
 * The `places` capability's methods (served by `server/src/capabilities/places/`):
 * posts near a point, from the place stored with each post.
 */

/** Half the Earth's circumference, in metres: no radius can mean more. */
export const MAX_RADIUS_METERS = 20_015_087;

export const PlacesMethods = {
  /**
   * Posts whose stored place lies within `radius` metres of (`lat`, `lon`)
   * (great-circle distance), newest first, `limit` (1–50, default 20) at a
   * time, hydrated; privacy and blocks as every read of posts. The server's
   * largest radius is `PLACES_MAX_RADIUS_M` (50 km by default): more is
   * `bad_request`. Asks every database within a time budget: `partial: true`
   * when one did not answer (its posts are missing from the page).
   * `GET /v1/places/posts`.
   */
  'places.posts': {
    params: Type.Object(
      {
        lat: Type.Number({ minimum: -90, maximum: 90 }),
        lon: Type.Number({ minimum: -180, maximum: 180 }),
        /** Metres. */
        radius: Type.Number({ minimum: 1, maximum: MAX_RADIUS_METERS }),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    result: FoundPosts,
    idempotent: true,
  },
} as const satisfies Record<`places.${string}`, { params: TSchema; result: TSchema; idempotent: boolean }>;
