import { int } from './settings.js';

/** Nearby friends (issue 11 §2): how long a fix lasts, the default radius, and the live list's cadence. */
export const nearbySettings = {
  locationTtlMs: int(
    'NEARBY_LOCATION_TTL_MS',
    600_000,
    100,
    86_400_000,
    'A location a user sends (`nearby.updateLocation`) expires this long after it was received unless a newer one replaces it; an expired fix is never listed.',
  ),
  radiusMeters: int(
    'NEARBY_RADIUS_METERS',
    8047,
    100,
    50_000,
    'The radius of the nearby-friends list (`nearby.list` without `radiusMeters`, and the `nearby:<id>` stream), in metres: 5 miles by default.',
  ),
  pushIntervalMs: int(
    'NEARBY_PUSH_INTERVAL_MS',
    3000,
    100,
    60_000,
    'While a user watches their nearby list (`nearby:<id>`), it is recomputed this often and sent when it changed (a friend moved, came, went or expired).',
  ),
  viewLeaseMs: int(
    'NEARBY_VIEW_LEASE_MS',
    30_000,
    200,
    600_000,
    'A subscription to `nearby:<id>` lapses this long after its last `sub` unless the client renews it (the SDK renews at half of it), and the list stops being computed. Must be less than ACTOR_IDLE_MS.',
  ),
  friendsCacheMs: int(
    'NEARBY_FRIENDS_CACHE_MS',
    60_000,
    100,
    3_600_000,
    "How long the cache keeps a user's mutual-friend set (read from the follow graph) for their list, and how long a watched list trusts a friend it checked against the graph before checking again; a follow, unfollow or block drops the set at once.",
  ),
};
